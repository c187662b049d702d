"""``batch.write_parquet``: the same file from either engine — a Parquet input and a DuckDB relation
input (exported for Spark), the job's row order, an empty result, and failures reported as
``QueryFailed`` on both engines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from pubdata import batch


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "in.parquet"
    duckdb.sql(
        "COPY (SELECT CAST(i AS BIGINT) AS id, '企业' || i AS name, CAST(i AS DECIMAL(18,2)) / 4 AS v, "
        f"DATE '2020-02-29' + CAST(i AS INTEGER) AS d FROM range(50) t(i)) TO '{path}' (FORMAT parquet)"
    )
    return path


def _write(tmp_path: Path, query: batch.Query, engine: str) -> tuple[list[Any], list[Any]]:
    target = tmp_path / f"{engine}.parquet"
    con = duckdb.connect()
    try:
        assert (
            batch.write_parquet(con, query, target, "(FORMAT parquet)", work=tmp_path / engine, engine=engine) == engine
        )
        relation = f"read_parquet('{target}')"
        return con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall(), con.execute(
            f"SELECT * FROM {relation}"
        ).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize(
    "where",
    ["id % 3 = 0", "id > 1000"],  # some rows; none at all (Spark still writes a file with the schema)
)
def test_both_engines_write_the_same_file(spark: Any, source: Path, tmp_path: Path, where: str) -> None:
    evens = f"(SELECT * FROM read_parquet('{source}') WHERE id % 2 = 0)"  # a relation, not a file
    query = batch.Query(
        f"SELECT t.id, t.name, t.v * 3 AS v3, t.d, e.id IS NOT NULL AS even FROM t LEFT JOIN evens e USING (id) "
        f"WHERE {where} ORDER BY t.id",
        {"t": source, "evens": evens},
        order_by=("id",),
    )
    schema, rows = _write(tmp_path, query, "duckdb")
    assert (schema, rows) == _write(tmp_path, query, "spark")
    assert len(rows) == (17 if where.startswith("id %") else 0)
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)


def test_failures_are_query_failed_on_both_engines(spark: Any, source: Path, tmp_path: Path) -> None:
    con = duckdb.connect()
    for engine in ("duckdb", "spark"):
        with pytest.raises(batch.QueryFailed):
            batch.write_parquet(
                con, batch.Query("SELECT nope FROM t", {"t": source}), tmp_path / "x.parquet", "(FORMAT parquet)",
                work=tmp_path / engine, engine=engine,
            )  # fmt: skip
    # DuckDB can run it, Spark SQL cannot say it with the same meaning: refused, not approximated
    query = batch.Query("SELECT date_sub('day', d, DATE '2030-01-01') AS n FROM t", {"t": source})
    with pytest.raises(batch.QueryFailed, match="Spark SQL"):
        batch.write_parquet(con, query, tmp_path / "y.parquet", "(FORMAT parquet)", work=tmp_path / "s", engine="spark")
