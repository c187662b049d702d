"""The Spark engine: one SparkSession per process, started lazily, and a batch ``Query`` run on it.

The session runs in local mode (``local[N]``: a JVM inside this process's machine) or against a
standalone cluster (``spark://host:port``, ``PUBDATA_SPARK_MASTER``). It is set up to start fast
and never fetch anything: no UI, few shuffle partitions, no Maven packages, ANSI SQL (errors
rather than silent wrap-around, as DuckDB), UTC session time, scratch space under the platform
home. On a cluster the executors must see the same paths (the platform home on a shared
filesystem): Spark reads the inputs and writes its parts there.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from pubdata.batch import EngineUnavailable, Query, QueryFailed, _literal, _relation
from pubdata.rules.dialect import UnsupportedDialect, to_spark_sql
from pubdata.settings import get_settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_lock = threading.Lock()
_session: dict[str, Any] = {}


def _shuffle_partitions(master: str) -> int:
    """Local mode: two partitions per core (the 200 default makes a small job wait on empty tasks)."""
    if master.startswith("local"):
        inside = master[master.find("[") + 1 : master.find("]")] if "[" in master else "1"
        cores = (os.cpu_count() or 2) if inside == "*" else (int(inside) if inside.isdigit() else 2)
        return max(2, 2 * cores)
    return 64


def check_can_start(master: str) -> None:
    """``EngineUnavailable`` naming the problem when a session cannot start: no Java, or a master
    URL that is neither ``local[N]`` nor ``spark://host:port``."""
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and Path(java_home, "bin", "java").exists()) and not shutil.which("java"):
        raise EngineUnavailable("批处理引擎 spark 不可用：找不到 Java（请安装 Java 17 或设置 JAVA_HOME）")
    if not re.fullmatch(r"local(\[(\d+|\*)\])?|spark://[^/\s:,]+:\d+(,[^/\s:,]+:\d+)*", master):
        raise EngineUnavailable(
            f"批处理引擎 spark 不可用：PUBDATA_SPARK_MASTER 应为 local[N] 或 spark://主机:端口，而不是 {master}"
        )


def session() -> SparkSession:
    """This process's SparkSession (started on first use). ``EngineUnavailable`` naming what is
    missing: pyspark not installed, no Java, or a master that cannot be reached."""
    with _lock:
        if "spark" in _session:
            return _session["spark"]  # type: ignore[no-any-return]
        settings = get_settings()
        master = settings.spark_master
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise EngineUnavailable(
                "批处理引擎 spark 不可用：没有安装 pyspark（pip install 'pubdata[spark]'）"
            ) from None
        check_can_start(master)
        # scratch space (shuffle files, the JVM's temp files) under the home when it exists
        home = settings.resolved_home
        scratch = home / "spark" / "tmp" if home.is_dir() else Path(tempfile.gettempdir()) / "pubdata-spark"
        scratch.mkdir(parents=True, exist_ok=True)
        builder = (
            SparkSession.builder.master(master)
            .appName("pubdata-batch")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", str(_shuffle_partitions(master)))
            .config("spark.default.parallelism", str(_shuffle_partitions(master)))
            .config("spark.local.dir", str(scratch))
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.ansi.enabled", "true")
            .config("spark.sql.adaptive.enabled", "true")
            .config("spark.sql.sources.partitionOverwriteMode", "static")
            .config("spark.driver.extraJavaOptions", f"-Djava.io.tmpdir={scratch}")
            .config("spark.jars.packages", "")
        )
        try:
            spark = builder.getOrCreate()
        except Exception as exc:  # the JVM did not start or the master did not answer
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise EngineUnavailable(f"批处理引擎 spark 无法启动（{master}）：{first}") from None
        spark.sparkContext.setLogLevel("ERROR")
        _session["spark"] = spark
        return spark


def stop() -> None:
    """Stop this process's session (the next ``session()`` starts a new one)."""
    with _lock:
        spark = _session.pop("spark", None)
    if spark is not None:
        spark.stop()


def run_to_parquet(con: duckdb.DuckDBPyConnection, query: Query, work: Path) -> Path:
    """Run ``query`` on Spark; the directory of its Parquet parts. Inputs that are not a Parquet
    file are exported by ``con`` (the DuckDB connection holding them as views) first."""
    # a session of its own over the shared context: temporary views are per session, so two jobs
    # of one process (a worker's threads) never see each other's inputs
    try:
        sql = to_spark_sql(query.sql, strip_order=True)
    except UnsupportedDialect as exc:
        raise QueryFailed(f"Spark SQL: {exc}") from None
    spark = session().newSession()
    inputs = work / "spark-inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    views: list[str] = []
    try:
        for name, value in query.inputs.items():
            path = value if isinstance(value, Path) else inputs / f"{len(views)}.parquet"
            if not isinstance(value, Path):
                con.execute(f"COPY (SELECT * FROM {_relation(value)}) TO {_literal(str(path))} (FORMAT parquet)")
            spark.read.parquet(str(path)).createOrReplaceTempView(name)
            views.append(name)
        parts = work / "spark-output"
        spark.sql(sql).write.mode("overwrite").parquet(str(parts))
        return parts
    except duckdb.Error as exc:
        raise QueryFailed(str(exc).splitlines()[0]) from None
    except Exception as exc:
        if type(exc).__module__.startswith(("pyspark", "py4j")):
            raise QueryFailed(f"Spark: {str(exc).strip().splitlines()[0]}") from None
        raise
    finally:
        for name in views:
            spark.catalog.dropTempView(name)
