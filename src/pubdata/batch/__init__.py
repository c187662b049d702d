"""The batch engines: one definition of a batch job's compute, run on DuckDB or on Apache Spark.

A job's compute is a ``Query``: one statement in DuckDB's SQL (what the facts builder, the scorecard
and the pack compiler generate) over named input relations. ``write_parquet`` runs it and writes the
result to one Parquet file through the same DuckDB writer for both engines, so only the compute
differs:

* ``duckdb`` — the inputs become views of the job's own DuckDB connection and the statement is one
  ``COPY``, as the jobs always ran;
* ``spark`` — the statement is transpiled to Spark SQL (``batch.spark.to_spark_sql``, sqlglot plus the
  few rewrites sqlglot lacks), each input becomes a Spark temporary view over Parquet (a Parquet file
  as it is; any other relation — a store read plan with its masks and row filters applied — is first
  exported to Parquet by DuckDB, so Spark reads exactly what the read path allows and nothing else),
  Spark writes its result as Parquet parts, and the DuckDB writer copies them into the target with
  the column types DuckDB gives the same statement (``DESCRIBE``) and the job's row order.

Permission checks, auditing, the version rows and the atomic publish stay with the job's service:
the engine choice changes none of them. See docs/spark.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pubdata.errors import Invalid, PubdataError
from pubdata.settings import get_settings

ENGINES = ("duckdb", "spark")


class UnknownEngine(Invalid):
    code = "batch.unknown_engine"


class EngineUnavailable(PubdataError):
    """The engine cannot start here (no Java, pyspark missing, a bad master URL, a master that does
    not answer): a deployment problem, named in the message, not a reason to retry at once."""

    status = 503
    code = "batch.engine_unavailable"


class QueryFailed(Exception):
    """The engine refused or failed the statement; ``str()`` is its first line."""


@dataclass(frozen=True)
class Query:
    """A batch job's compute. ``sql``: one statement in DuckDB's SQL reading ``inputs`` by name;
    ``inputs``: name → a Parquet file, or a DuckDB relation (``read_parquet(...)``, a read plan's
    relation); ``order_by``: the output columns the written rows are sorted by (the statement's own
    top-level ``ORDER BY`` is what DuckDB uses; on Spark the writer sorts by these instead)."""

    sql: str
    inputs: dict[str, Path | str] = field(default_factory=dict)
    order_by: tuple[str, ...] = ()


def engine_name(engine: str | None = None) -> str:
    """The engine to use: ``engine`` if given, else the ``PUBDATA_BATCH_ENGINE`` setting."""
    name = (engine or get_settings().batch_engine).strip().lower()
    if name not in ENGINES:
        raise UnknownEngine(f"未知的批处理引擎：{engine}（可选 duckdb 或 spark）", field="engine")
    return name


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _relation(value: Path | str) -> str:
    return f"read_parquet({_literal(str(value))})" if isinstance(value, Path) else value


def register_inputs(con: duckdb.DuckDBPyConnection, query: Query) -> None:
    """The query's inputs as temporary views of ``con`` (what the DuckDB engine runs over)."""
    for name, value in query.inputs.items():
        con.execute(f"CREATE OR REPLACE TEMP VIEW {quote(name)} AS SELECT * FROM {_relation(value)}")


def write_parquet(
    con: duckdb.DuckDBPyConnection,
    query: Query,
    target: Path,
    options: str,
    *,
    work: Path,
    engine: str | None = None,
) -> str:
    """Run ``query`` on ``engine`` and write its rows to ``target`` with DuckDB's ``COPY`` options
    ``options``; ``work`` is a staging directory of the job's own (Spark's inputs and parts go
    there). Returns the engine's name. ``QueryFailed`` when the statement fails on the engine,
    ``EngineUnavailable`` when Spark cannot start."""
    name = engine_name(engine)
    register_inputs(con, query)
    try:
        if name == "duckdb":
            con.execute(f"COPY ({query.sql}) TO {_literal(str(target))} {options}")
            return name
        columns = con.execute(f"DESCRIBE {query.sql}").fetchall()
    except duckdb.Error as exc:
        raise QueryFailed(str(exc).splitlines()[0]) from None

    from pubdata.batch import spark  # imported only when Spark is asked for: pyspark is an extra

    parts = spark.run_to_parquet(con, query, work)
    select = ", ".join(f"CAST({quote(c[0])} AS {c[1]}) AS {quote(c[0])}" for c in columns)
    order = f" ORDER BY {', '.join(quote(c) for c in query.order_by)}" if query.order_by else ""
    source = f"read_parquet({_literal(str(parts / '*.parquet'))})"
    try:
        con.execute(f"COPY (SELECT {select} FROM {source}{order}) TO {_literal(str(target))} {options}")
    except duckdb.Error as exc:
        raise QueryFailed(str(exc).splitlines()[0]) from None
    return name
