"""Destinations and syncs declared in `config/syncs.yaml`, checked when the code loads.

A destination says what it is, where it is, which environment variables hold
its credentials (never the credentials themselves) and which consent purpose
data sent to it serves. A sync says what to send (a segment's members, or
profiles with a filter), where, how fields map, which column identifies a
record there, the mode, and the purpose it needs, which defaults to its
destination's: a sync with neither is refused at load time, since nothing may
leave without a consent check. A `source.where` filter must be one plain
condition over the person's columns (see `cdp_platform.sql_expressions`): no
statements, subqueries, tables or functions outside the allowed list.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cdp_platform.activation.plan import Mode
from cdp_platform.profiles.config import load_profiles_config
from cdp_platform.profiles.consent import PURPOSES
from cdp_platform.profiles.traits import Identifier
from cdp_platform.segments.catalog import build_catalog
from cdp_platform.segments.config import load_segments
from cdp_platform.sql_expressions import checked_condition
from cdp_platform.yaml_files import CONFIG_DIR, read_yaml

DestinationType = Literal["webhook", "hubspot", "braze", "meta", "postgres", "files"]
AUDIENCE_ONLY = {"meta"}  # takes add/remove, never profile fields


class DestinationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: DestinationType
    purpose: str | None = None  # the consent purpose data sent here serves
    url: str | None = None  # webhook endpoint; API base URL of the others
    audience_id: str | None = None  # meta
    table: str | None = None  # postgres
    key_column: str = "key"  # postgres
    folder: str | None = None  # files
    format: Literal["csv", "parquet"] = "csv"  # files
    # Names of environment variables, read at run time.
    secret_env: str | None = None  # webhook signing secret (whsec_...)
    token_env: str | None = None  # hubspot, braze, meta
    dsn_env: str | None = None  # postgres
    url_env: str | None = None  # overrides url when set
    batch_size: int | None = Field(default=None, gt=0)
    requests_per_second: float | None = Field(default=None, gt=0)
    max_concurrency: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _needs(self) -> DestinationSpec:
        needed = {
            "webhook": ("secret_env",),
            "hubspot": ("token_env",),
            "braze": ("token_env",),
            "meta": ("token_env", "audience_id"),
            "postgres": ("dsn_env", "table"),
            "files": ("folder",),
        }[self.type]
        missing = [f for f in needed if getattr(self, f) is None]
        if self.type in ("webhook", "hubspot", "braze", "meta") and not (self.url or self.url_env):
            missing.append("url")
        if missing:
            raise ValueError(f"a {self.type} destination needs {missing}")
        return self


class SyncSource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segment: str | None = None  # its members, holdout excluded
    where: str | None = None  # one SQL condition over the person's columns


class SyncSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Identifier
    description: str
    owners: list[str] = Field(default_factory=list)
    destination: str
    source: SyncSource = Field(default_factory=SyncSource)
    identifier: str = "email"  # the person column that keys records in the destination
    mapping: dict[str, str] = Field(default_factory=dict)  # destination field -> person column
    mode: Mode = "upsert"
    purpose: str | None = None  # defaults to the destination's
    # When it runs on its own: `eager` (after its inputs change) or a cron schedule.
    # Either way only once every blocking check upstream has passed.
    automation: str = "eager"


class SyncsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    destinations: dict[str, DestinationSpec] = Field(default_factory=dict)
    syncs: list[SyncSpec] = Field(default_factory=list)


class SyncSpecError(ValueError):
    """An invalid sync or destination: the message names the file, entry and field."""


def syncs_path() -> Path:
    return Path(os.environ.get("CDP_SYNCS_CONFIG", CONFIG_DIR / "syncs.yaml"))


def _is_cron(expression: str) -> bool:
    import dagster as dg

    try:  # Dagster's own check of a cron string, as a schedule would get
        dg.ScheduleDefinition(name="check", cron_schedule=expression, job_name="check")
    except dg.DagsterInvalidDefinitionError:
        return False
    return True


def _check(parsed: SyncsFile, path: Path) -> None:
    columns = build_catalog(load_profiles_config()).person
    segments = {s.name for s in load_segments()}

    def fail(sync: str, field: str, problem: str):
        raise SyncSpecError(f"{path}: sync {sync!r}: {field}: {problem}")

    for name, destination in parsed.destinations.items():
        if destination.purpose is not None and destination.purpose not in PURPOSES:
            raise SyncSpecError(
                f"{path}: destination {name!r}: purpose: unknown purpose "
                f"{destination.purpose!r}; known: {list(PURPOSES)}"
            )
    seen: set[str] = set()
    for sync in parsed.syncs:
        if sync.name in seen:
            fail(sync.name, "name", "declared twice")
        seen.add(sync.name)
        destination = parsed.destinations.get(sync.destination)
        if destination is None:
            fail(sync.name, "destination", f"no destination named {sync.destination!r}")
        purpose = sync.purpose or destination.purpose
        if purpose is None:
            fail(
                sync.name,
                "purpose",
                f"destination {sync.destination!r} has no consent purpose and the sync names "
                "none: nothing may be sent without one",
            )
        if purpose not in PURPOSES:
            fail(sync.name, "purpose", f"unknown purpose {purpose!r}; known: {list(PURPOSES)}")
        if sync.source.segment and sync.source.segment not in segments:
            fail(sync.name, "source.segment", f"no segment named {sync.source.segment!r}")
        if sync.source.where is not None:
            try:
                checked_condition(sync.source.where, columns)
            except ValueError as error:
                fail(sync.name, "source.where", str(error))
        for field_name, column in [("identifier", sync.identifier), *sync.mapping.items()]:
            if column not in columns:
                where = "identifier" if field_name == "identifier" else f"mapping.{field_name}"
                fail(sync.name, where, f"unknown person column {column!r}")
        if sync.automation != "eager":
            from dagster._utils.schedules import is_valid_cron_string

            if not is_valid_cron_string(sync.automation):
                fail(
                    sync.name,
                    "automation",
                    f"neither 'eager' nor a cron schedule: {sync.automation!r}",
                )
        audience = sync.mode in ("add", "remove")
        if destination.type in AUDIENCE_ONLY and not audience:
            fail(sync.name, "mode", f"a {destination.type} audience takes mode add or remove")


def load_syncs(path: Path | None = None) -> SyncsFile:
    path = path or syncs_path()
    try:
        raw = read_yaml(path) or {}
    except FileNotFoundError:
        return SyncsFile()
    except OSError as exc:
        raise SyncSpecError(f"{path}: {exc}") from exc
    except ValueError as exc:  # a YAML syntax error: path:line:column: problem
        raise SyncSpecError(str(exc)) from exc
    try:
        parsed = SyncsFile.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise SyncSpecError(f"{path}: {where}: {error['msg']}") from exc
    _check(parsed, path)
    return parsed
