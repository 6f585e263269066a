"""SQL text the platform writes itself: one way to quote a value."""

from __future__ import annotations


def quoted(text: str) -> str:
    """`text` as an SQL string literal (single quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def identifier(name: str) -> str:
    """`name` as a quoted SQL identifier (double quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'
