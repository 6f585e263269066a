"""Paths and switches, read from the environment (`CDP_*`) at call time.

Functions rather than module constants, so the command line and tests can
point the platform elsewhere by setting the environment before loading.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from cdp_platform.yaml_files import CONFIG_DIR

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_START_DATE = "2025-01-01"
# The code location's name in workspace.yaml: runs `cdp run` starts carry it, so
# the UI lists them under their jobs.
CODE_LOCATION = "cdp_platform"
DEFINITIONS_MODULE = "cdp_platform.definitions"


def data_dir() -> Path:
    """`data/` of the checkout; of the working directory when the package is installed
    (nothing is ever written inside site-packages)."""
    if (PROJECT_ROOT / "pyproject.toml").is_file():
        return PROJECT_ROOT / "data"
    return Path.cwd() / "data"


def identity_config_path() -> Path:
    return Path(os.environ.get("CDP_IDENTITY_CONFIG", CONFIG_DIR / "identity.yaml")).resolve()


def profiles_config_path() -> Path:
    return Path(os.environ.get("CDP_PROFILES_CONFIG", CONFIG_DIR / "profiles.yaml")).resolve()


def landing_dir() -> Path:
    return Path(os.environ.get("CDP_LANDING_DIR", data_dir() / "landing")).resolve()


def warehouse_path() -> Path:
    return Path(os.environ.get("CDP_WAREHOUSE", data_dir() / "warehouse.duckdb")).resolve()


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


def warehouse_wait_seconds() -> float:
    """How long a run of `cdp run` waits for the `warehouse` pool another run holds
    before it gives up with an error naming that run."""
    value = os.environ.get("CDP_WAREHOUSE_WAIT_SECONDS", "1800")
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds <= 0:
        raise ValueError(f"CDP_WAREHOUSE_WAIT_SECONDS must be a positive number, got {value!r}")
    return seconds


def crm_contacts_mode() -> str:
    """`files` (default) reads landing CSVs; `api` pulls from the HubSpot-shaped API."""
    mode = os.environ.get("CDP_CRM_CONTACTS_SOURCE", "files").strip().lower()
    if mode not in {"files", "api"}:
        raise ValueError(f"CDP_CRM_CONTACTS_SOURCE must be 'files' or 'api', got {mode!r}")
    return mode


def hubspot_base_url() -> str:
    return os.environ.get("CDP_HUBSPOT_BASE_URL", "https://api.hubapi.com")


def landing_sensor_on() -> bool:
    """Whether the landing sensor starts on (`CDP_LANDING_SENSOR=off` for a deployment
    that loads history by backfills only); the UI can still turn it on or off."""
    value = os.environ.get("CDP_LANDING_SENSOR", "on").strip().lower()
    if value not in {"on", "off"}:
        raise ValueError(f"CDP_LANDING_SENSOR must be 'on' or 'off', got {value!r}")
    return value == "on"


def daily_refresh_cron() -> str:
    """When the daily refresh of identity, privacy and profiles may run (UTC)."""
    return os.environ.get("CDP_DAILY_REFRESH_CRON", "0 5 * * *")


def alerts_path() -> Path:
    """Where run-failure alerts are recorded, one JSON object a line."""
    default = warehouse_path().parent / "alerts" / "run_failures.jsonl"
    return Path(os.environ.get("CDP_ALERTS_FILE", default)).resolve()


def alert_webhook_url() -> str | None:
    """Where run-failure alerts are posted, if anywhere (may carry a token: never logged)."""
    return os.environ.get("CDP_ALERT_WEBHOOK_URL") or None


def ui_url() -> str:
    """The Dagster UI's address, for links in alerts."""
    return os.environ.get("CDP_UI_URL", "http://localhost:3000").rstrip("/")


ENGINES = ("duckdb", "spark")


def engine() -> str:
    """Where Splink trains and predicts: `duckdb` (default, in process) or `spark`."""
    value = os.environ.get("CDP_ENGINE", "duckdb").strip().lower()
    if value not in ENGINES:
        raise ValueError(f"CDP_ENGINE must be one of {', '.join(ENGINES)}, got {value!r}")
    return value


def spark_master() -> str:
    """`local[*]` runs Spark inside this process; `spark://host:7077` or `yarn` a cluster."""
    return os.environ.get("CDP_SPARK_MASTER", "local[*]")


def spark_conf() -> dict[str, str]:
    """Extra Spark settings from `CDP_SPARK_CONF` as `key=value,key=value`. A value
    holding a comma belongs in `spark-defaults.conf` under `SPARK_CONF_DIR`."""
    conf = {}
    for item in os.environ.get("CDP_SPARK_CONF", "").split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"CDP_SPARK_CONF items must be key=value, got {item!r}")
        conf[key.strip()] = value.strip()
    return conf


def spark_temp_dir() -> str | None:
    """Spark's checkpoints and spills; shared storage (hdfs://, s3a://) on a cluster.
    None: beside the warehouse."""
    return os.environ.get("CDP_SPARK_TEMP_DIR") or None
