"""Masking of personal data for previews, logs and run metadata.

A masked value keeps just enough shape to be recognisable to a data team
(`j***@g***.com`, `*******123`) and nothing that identifies a person.
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\d")


def mask_email(value: str) -> str:
    local, _, domain = value.strip().partition("@")
    if not domain:
        return mask_text(value)
    host, _, tld = domain.rpartition(".")
    return f"{local[:1]}***@{(host or tld)[:1]}***.{tld if host else '***'}"


def mask_phone(value: str) -> str:
    digits = _DIGITS.findall(value)
    if len(digits) <= 3:
        return "***"
    return "*" * (len(digits) - 3) + "".join(digits[-3:])


def mask_text(value: str) -> str:
    value = value.strip()
    return f"{value[:1]}***" if value else ""


def mask_value(column: str, value: object) -> object:
    """Mask one value of a PII column, choosing the style from the column name."""
    if value is None:
        return None
    text = str(value)
    name = column.lower()
    if "email" in name:
        return mask_email(text)
    if "phone" in name:
        return mask_phone(text)
    if name in {"traits", "context_ip", "identifier_value"} or "street" in name:
        return "***"
    return mask_text(text)


_EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Seven or more digits, possibly split by spaces, dots, dashes or brackets; not a date.
_PHONE_IN_TEXT = re.compile(r"(?<![\w-])(?!\d{4}-\d{2}-\d{2})\+?\d[\d\s().-]{5,}\d")


def scrub_text(text: str) -> str:
    """Free text (an error message) with any email or phone-like number masked."""
    text = _EMAIL_IN_TEXT.sub(lambda m: mask_email(m.group()), text)
    return _PHONE_IN_TEXT.sub(
        lambda m: mask_phone(m.group()) if len(_DIGITS.findall(m.group())) >= 7 else m.group(),
        text,
    )
