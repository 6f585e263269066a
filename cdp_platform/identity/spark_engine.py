"""Splink on Spark: one Spark session per process, configured from the environment.

Only Splink's training, blocking counts and prediction run here, the one
quadratic step of the identity layer. The driver reads the records from the
DuckDB warehouse, hands them to Spark as Arrow, and takes the scored pairs back
as Arrow; everything else stays in the warehouse. `CDP_SPARK_MASTER` picks the
cluster (`local[*]` by default), `CDP_SPARK_CONF` adds settings, and
`SPARK_HOME`/`SPARK_CONF_DIR` are honoured by Spark's own launcher.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import from_arrow_schema
from splink import SparkAPI
from splink.backends.spark import similarity_jar_location

from cdp_platform.identity.splink_runtime import SplinkRuntime

_session: SparkSession | None = None


def session(runtime: SplinkRuntime) -> SparkSession:
    """The process's session, created on first use: starting the JVM takes seconds."""
    global _session
    if _session is not None and _session.sparkContext._jsc is not None:  # None once stopped
        return _session
    conf = dict(runtime.spark_conf)
    temp = runtime.spark_work_dir
    # Splink's string similarities (jaro_winkler, damerau_levenshtein) are Scala
    # UDFs in the jar it ships; SparkAPI registers them from the classpath.
    jars = ",".join(filter(None, [similarity_jar_location(), conf.pop("spark.jars", "")]))
    builder = (
        SparkSession.builder.master(runtime.spark_master)
        .appName("cdp-identity")
        .config("spark.jars", jars)
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # Keep Spark's default catalog folder out of the working directory.
        .config("spark.sql.warehouse.dir", f"{temp}/spark-warehouse")
    )
    if runtime.spark_master.startswith("local"):
        builder = builder.config("spark.local.dir", f"{temp}/local")
    for key, value in conf.items():
        builder = builder.config(key, value)
    _session = builder.getOrCreate()
    return _session


@contextmanager
def splink_api(runtime: SplinkRuntime) -> Iterator[SparkAPI]:
    """SparkAPI on the shared session. Splink cuts Spark's lineage by writing its
    intermediate tables as parquet under the checkpoint directory (Spark adds a
    fresh subfolder per call); they are dropped and deleted afterwards."""
    spark = session(runtime)
    spark.sparkContext.setCheckpointDir(f"{runtime.spark_work_dir}/checkpoints")
    try:
        yield SparkAPI(spark_session=spark)
    finally:
        for table in spark.catalog.listTables():
            if table.isTemporary and table.name.startswith("__splink"):
                spark.catalog.dropTempView(table.name)
        spark.catalog.clearCache()
        checkpoints = spark.sparkContext._jsc.sc().getCheckpointDir().get()
        path = spark._jvm.org.apache.hadoop.fs.Path(checkpoints)  # any filesystem: file, hdfs, s3a
        path.getFileSystem(spark._jsc.hadoopConfiguration()).delete(path, True)


def to_spark(spark: SparkSession, records: pa.Table) -> DataFrame:
    """The schema is given, so an all-NULL column still has its type."""
    return spark.createDataFrame(records.to_pandas(), schema=from_arrow_schema(records.schema))


def to_arrow(frame: DataFrame) -> pa.Table:
    if hasattr(frame, "toArrow"):  # Spark 4
        return frame.toArrow()
    return pa.Table.from_pandas(frame.toPandas(), preserve_index=False)


def stop() -> None:
    """Stop the session; the next use starts a new one (the JVM also exits with Python)."""
    global _session
    if _session is not None:
        _session.stop()
        _session = None
