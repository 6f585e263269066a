"""How Splink runs: the engine, the folder it spills to, DuckDB's threads and
memory, and Spark's master and settings when Splink runs on Spark."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cdp_platform import settings


@dataclass(frozen=True)
class SplinkRuntime:
    engine: str  # duckdb or spark
    work_dir: Path
    threads: int
    memory_limit: str
    spark_master: str
    spark_conf: dict[str, str]
    spark_temp_dir: str | None

    @classmethod
    def beside(cls, warehouse: Path) -> SplinkRuntime:
        """The runtime the environment (`CDP_*`) describes, spilling beside `warehouse`."""
        return cls(
            engine=settings.engine(),
            work_dir=warehouse.resolve().parent / ".tmp",
            threads=settings.duckdb_threads(),
            memory_limit=settings.duckdb_memory_limit(),
            spark_master=settings.spark_master(),
            spark_conf=settings.spark_conf(),
            spark_temp_dir=settings.spark_temp_dir(),
        )

    @property
    def spark_work_dir(self) -> str:
        """Spark's checkpoints (and local mode's spills); beside the warehouse by default."""
        return self.spark_temp_dir or str(self.work_dir / "spark")
