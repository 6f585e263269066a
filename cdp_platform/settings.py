"""Paths and switches, read from the environment (`CDP_*`) at call time.

Functions rather than module constants, so the command line and tests can
point the platform elsewhere by setting the environment before loading.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_START_DATE = "2025-01-01"


def landing_dir() -> Path:
    return Path(os.environ.get("CDP_LANDING_DIR", PROJECT_ROOT / "data" / "landing")).resolve()


def warehouse_path() -> Path:
    return Path(
        os.environ.get("CDP_WAREHOUSE", PROJECT_ROOT / "data" / "warehouse.duckdb")
    ).resolve()


def start_date() -> str:
    value = os.environ.get("CDP_START_DATE", DEFAULT_START_DATE)
    try:
        date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"CDP_START_DATE must be YYYY-MM-DD, got {value!r}") from exc
    return value


def duckdb_threads() -> int:
    return int(os.environ.get("CDP_DUCKDB_THREADS", os.cpu_count() or 2))


def duckdb_memory_limit() -> str:
    return os.environ.get("CDP_DUCKDB_MEMORY_LIMIT", "4GB")


def crm_contacts_mode() -> str:
    """`files` (default) reads landing CSVs; `api` pulls from the HubSpot-shaped API."""
    mode = os.environ.get("CDP_CRM_CONTACTS_SOURCE", "files").strip().lower()
    if mode not in {"files", "api"}:
        raise ValueError(f"CDP_CRM_CONTACTS_SOURCE must be 'files' or 'api', got {mode!r}")
    return mode


def hubspot_base_url() -> str:
    return os.environ.get("CDP_HUBSPOT_BASE_URL", "https://api.hubapi.com")
