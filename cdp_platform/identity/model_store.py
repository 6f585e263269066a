"""Trained matching models, kept in the warehouse they were trained for.

Every model trained is a row of `identity.model_versions`: its Splink JSON,
the evidence profile it saw (nodes and the share carrying each field), its
training report and whether prediction uses it. A second warehouse in the same
folder therefore never picks up another's model, and a copied warehouse takes
its model along. The charts of the current model are written beside the
warehouse under `models/<warehouse file stem>/`.

`ModelStore` is the resource the identity assets take: the store, and how
Splink runs (`SplinkRuntime`), resolved from the environment when the code
location loads.

A model is retrained when the evidence changes materially (`needs_retraining`):
a field appears or disappears, a field's fill moves by more than
`FILL_SHIFT`, or the number of nodes changes more than `SIZE_FACTOR` times.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import dagster as dg
import duckdb

from cdp_platform.identity.splink_model import MIN_FILL, TrainedModel
from cdp_platform.identity.splink_runtime import SplinkRuntime
from cdp_platform.tables.identity import MODEL_VERSIONS

TABLE = MODEL_VERSIONS
FILL_SHIFT = 0.15
SIZE_FACTOR = 2.0


@dataclass(frozen=True)
class StoredModel:
    version: str
    model: dict
    profile: dict
    report: dict


def charts_dir(warehouse: Path) -> Path:
    warehouse = warehouse.resolve()
    return warehouse.parent / "models" / warehouse.stem / "charts"


def save(conn: duckdb.DuckDBPyConnection, trained: TrainedModel, current: bool = True) -> None:
    """Store a trained model; `current` makes it the one prediction uses."""
    if current:
        conn.execute(f"UPDATE {TABLE} SET is_current = false")
    conn.execute(f"DELETE FROM {TABLE} WHERE version = ?", [trained.version])
    conn.execute(
        f"INSERT INTO {TABLE} VALUES (?, now(), ?, ?, ?, ?, ?)",
        [
            trained.version,
            current,
            trained.records,
            json.dumps(trained.model, default=str),
            json.dumps(trained.profile),
            json.dumps(trained.report, default=str),
        ],
    )


def current(conn: duckdb.DuckDBPyConnection) -> StoredModel | None:
    """The model prediction uses, or None before the first healthy training."""
    row = conn.execute(
        f"SELECT version, model_json, profile_json, report_json FROM {TABLE} "
        "WHERE is_current ORDER BY trained_at DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    return StoredModel(row[0], json.loads(row[1]), json.loads(row[2]), json.loads(row[3]))


def needs_retraining(trained_on: dict, now: dict) -> str | None:
    """Why the evidence has changed enough to train again, or None."""
    before, after = trained_on["fill"], now["fill"]
    for field in sorted(set(before) | set(after)):
        was, is_ = before.get(field, 0.0), after.get(field, 0.0)
        if (was >= MIN_FILL) != (is_ >= MIN_FILL):
            return f"{field} {'appeared' if is_ >= MIN_FILL else 'disappeared'}"
        if abs(was - is_) > FILL_SHIFT:
            return f"{field} filled on {is_:.0%} of nodes, {was:.0%} when trained"
    labels_then, labels_now = trained_on.get("labels", 0), now.get("labels", 0)
    if labels_then != labels_now:
        return f"{labels_now:,} review labels, {labels_then:,} when trained"
    old, new = max(trained_on["nodes"], 1), max(now["nodes"], 1)
    if new / old > SIZE_FACTOR or old / new > SIZE_FACTOR:
        return f"{new:,} nodes, {old:,} when trained"
    return None


class ModelStore(dg.ConfigurableResource):
    """The trained Splink models (versions in the warehouse, charts in
    `charts_dir`) and how Splink runs: the engine, the folder it spills to,
    DuckDB's threads and memory, Spark's master and settings."""

    charts_dir: str
    # The fields of `SplinkRuntime`, as resource config (the UI shows them).
    work_dir: str
    engine: str
    threads: int
    memory_limit: str
    spark_master: str
    spark_conf: dict[str, str]
    spark_temp_dir: str | None

    @property
    def runtime(self) -> SplinkRuntime:
        fields = self.model_dump(exclude={"charts_dir"})
        return SplinkRuntime(**{**fields, "work_dir": Path(self.work_dir)})

    @property
    def charts(self) -> Path:
        return Path(self.charts_dir)

    def current_model(self, conn: duckdb.DuckDBPyConnection) -> StoredModel | None:
        return current(conn)

    def save_model(
        self, conn: duckdb.DuckDBPyConnection, trained: TrainedModel, current: bool = True
    ) -> None:
        save(conn, trained, current)


def default_model_store(warehouse: Path) -> ModelStore:
    """The store of `warehouse`, with the runtime the environment (`CDP_*`) describes."""
    fields = asdict(SplinkRuntime.beside(warehouse))
    return ModelStore(
        charts_dir=str(charts_dir(warehouse)), **{**fields, "work_dir": str(fields["work_dir"])}
    )
