"""The rules language's Spark SQL dialect, and the DuckDB → Spark rewrites the batch statements
need: each expression evaluated on DuckDB and on Spark over the same Parquet rows gives the same
values (and, for rules, the Python evaluator's). Values are compared exactly: the outputs are
booleans, integers, exact decimals and strings; the one DOUBLE (a rules division) is the same IEEE
operation on the same operands on both engines (``CAST(a AS DOUBLE) / b``), so it is bit-identical."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pubdata.rules.dialect import UnsupportedDialect, to_spark_sql
from pubdata.rules.evaluate import evaluate
from pubdata.rules.expr import parse
from pubdata.rules.sql import to_sql

FACTS = "id BIGINT, export DECIMAL(18,2), months BIGINT, site BOOLEAN, district VARCHAR, name VARCHAR"
ROWS: list[tuple[Any, ...]] = [
    (1, Decimal("25000000.00"), 7, True, "市南区", "青岛海洋科技有限公司"),
    (2, Decimal("15000.50"), 0, False, "崂山区", "Qingdao Ocean Ltd"),
    (3, None, None, None, None, None),
    (4, Decimal("-3.25"), -7, True, "市北区", "青岛"),
    (5, Decimal("0.00"), 12, None, "黄岛区", ""),
]
RULES = [
    "site and export > 2000万",
    "not site or export >= 1.5万",
    "district in ['市南区', '崂山区']",
    "district not in ['市南区', '黄岛区']",
    "district == '市南区' or district != '崂山区'",
    "district < '市北区'",
    "name >= '青岛' and name < 'Z'",
    "months / 2 > 3",
    "export / months",
    "months / 2",
    "min(export * 50%, 10万)",
    "max(months, 3) - -months",
    "months in [0, 7, 12] and not (months > 10)",
    "export * 1.5 == 37500000",
]


@pytest.fixture(scope="module")
def facts_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dialect") / "facts.parquet"
    con = duckdb.connect()
    con.execute(f"CREATE TABLE f ({FACTS})")
    con.executemany("INSERT INTO f VALUES (?, ?, ?, ?, ?, ?)", ROWS)
    con.execute(f"COPY f TO '{path}' (FORMAT parquet)")
    return path


def _both(spark: Any, path: Path, duck_sql: list[str], spark_sql: list[str]) -> tuple[list[Any], list[Any]]:
    """Each expression's values over the rows, per expression, on DuckDB and on Spark (one statement each)."""
    con = duckdb.connect()
    con.execute(f"CREATE VIEW f AS SELECT * FROM read_parquet('{path}')")
    rows = con.execute(f"SELECT {', '.join(duck_sql)} FROM f ORDER BY id").fetchall()
    spark.read.parquet(str(path)).createOrReplaceTempView("f")
    columns = ", ".join(f"{e} AS v{i}" for i, e in enumerate(spark_sql))
    spark_rows = spark.sql(f"SELECT {columns} FROM f ORDER BY id").collect()
    return [list(c) for c in zip(*rows, strict=True)], [list(c) for c in zip(*spark_rows, strict=True)]


def test_rules_mean_the_same_on_duckdb_spark_and_in_python(spark: Any, facts_file: Path) -> None:
    nodes = [parse(text) for text in RULES]
    on_duckdb, on_spark = _both(
        spark, facts_file, [to_sql(n) for n in nodes], [to_sql(n, dialect="spark") for n in nodes]
    )
    names = ("id", "export", "months", "site", "district", "name")
    for text, node, duck_values, spark_values in zip(RULES, nodes, on_duckdb, on_spark, strict=True):
        assert spark_values == duck_values, text
        in_python = [evaluate(node, dict(zip(names, row, strict=True))).value for row in ROWS]
        if all(v is None or isinstance(v, bool) for v in in_python):  # a condition: SQL decides as Python
            assert duck_values == in_python, text
        else:  # a number: Python's division is exact, SQL's is DOUBLE on both engines (rounded compare)
            assert [None if v is None else round(Decimal(str(v)), 6) for v in duck_values] == [
                None if v is None else round(Decimal(v), 6) for v in in_python
            ], text


def test_nulls_strings_and_division_by_zero_are_kept(spark: Any, facts_file: Path) -> None:
    division = parse("export / months")  # months 0 (row 2) and NULL (row 3): unknown, not an error
    listed = parse("district in ['市南区', '崂山区']")
    _, (quotient, member) = _both(
        spark, facts_file, [to_sql(division), to_sql(listed)], [to_sql(n, dialect="spark") for n in (division, listed)]
    )
    assert quotient[1] is None and quotient[2] is None and quotient[0] == 25000000 / 7
    assert member == [True, True, None, False, False]
    with pytest.raises(ValueError, match="unknown SQL dialect"):
        to_sql(listed, dialect="oracle")


def _pairs() -> list[tuple[date, date]]:
    """Date pairs around month ends, leap days and year ends, both ways round."""
    days = [date(2019, 12, 31), date(2020, 1, 31), date(2020, 2, 28), date(2020, 2, 29), date(2020, 3, 1)]
    days += [date(2020, 3, 31), date(2020, 4, 30), date(2021, 2, 28), date(2021, 3, 29), date(2022, 12, 31)]
    days += [date(2023, 1, 1) + timedelta(days=37 * i) for i in range(12)]
    return [(a, b) for a in days for b in days]


def test_complete_years_and_months_between_dates(spark: Any, tmp_path: Path) -> None:
    path = tmp_path / "dates.parquet"
    con = duckdb.connect()
    con.execute("CREATE TABLE d (id BIGINT, a DATE, b DATE)")
    con.executemany("INSERT INTO d VALUES (?, ?, ?)", [(i, a, b) for i, (a, b) in enumerate(_pairs())])
    con.execute(f"COPY d TO '{path}' (FORMAT parquet)")
    for part in ("year", "month"):
        sql = f"date_sub('{part}', a, b)"
        con2 = duckdb.connect()
        expected = [r[0] for r in con2.execute(f"SELECT {sql} FROM read_parquet('{path}') ORDER BY id").fetchall()]
        spark.read.parquet(str(path)).createOrReplaceTempView("d")
        got = [r[0] for r in spark.sql(f"SELECT {to_spark_sql(sql)} FROM d ORDER BY id").collect()]
        assert got == expected and len(set(expected)) >= 8


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT ['A', 'B', 'M'][i] FROM (VALUES (1), (3), (4), (NULL)) t(i)",  # 1-based, NULL out of range
        "SELECT (['x', 'y'])[2]",
        "SELECT -7 // 2, 7 // -2, CAST(9 AS HUGEINT) // 4, sign(CAST(-5 AS HUGEINT)) * 3",
        "SELECT (arg_max(v, t, 2) FILTER (WHERE v <> 'skip'))[2] FROM (VALUES ('a', 1), ('b', 3), ('skip', 9), "
        "('c', 2)) t(v, t)",
        "SELECT upper(trim(' 省级 ')), contains('崂山区东', '崂山区'), left('2022-07-15', 7)",
        "SELECT last_day(TRY_CAST('2024-01' || '-01' AS DATE) + INTERVAL 1 MONTH), TRY_CAST('x' AS DATE)",
        "SELECT count(*) FILTER (WHERE x > 1), bool_or(x > 2), sum(x) FILTER (WHERE x < 0) "
        "FROM (VALUES (1), (2), (3)) t(x)",
    ],
)
def test_duckdb_statements_translate_to_the_same_results(spark: Any, sql: str) -> None:
    expected = [tuple(r) for r in duckdb.sql(sql).fetchall()]
    got = [tuple(r) for r in spark.sql(to_spark_sql(sql)).collect()]
    assert got == expected


def test_what_spark_cannot_express_is_refused() -> None:
    with pytest.raises(UnsupportedDialect, match="BY NAME"):
        to_spark_sql("SELECT 1 AS a UNION ALL BY NAME SELECT 2 AS a")
    with pytest.raises(UnsupportedDialect, match="date_sub"):
        to_spark_sql("SELECT date_sub('day', DATE '2020-01-01', DATE '2020-02-01')")
    assert "ORDER BY" not in to_spark_sql("SELECT a FROM t ORDER BY a", strip_order=True)
