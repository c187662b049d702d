"""Dates and amounts as ``semantic.normalise_sql``/``problem_sql`` read them, over the spellings the
cheaper steps of those definitions rely on: a ``YYYY-M-D`` text read by a cast (not ``try_strptime``),
a final 日 dropped without a regular expression, the currency-sign and 元 removals run only on values
that have them."""

from __future__ import annotations

import duckdb
import pytest

from pubdata.store.ingest import semantic


def _dashed_spellings() -> list[str]:
    years = [f"{y:04d}" for y in (*range(0, 30), 99, 100, 999, 1000, 1582, 1600, 1900, 2000, 2023, 2024, 2100, 9999)]
    years += [f"{y:04d}" for y in range(0, 10000, 97)]
    parts = [str(n) for n in range(0, 14)] + [f"{n:02d}" for n in range(0, 14)] + ["29", "30", "31", "32", "99"]
    days = [str(n) for n in range(0, 10)] + [f"{n:02d}" for n in range(0, 33)] + ["99"]
    return [f"{y}-{m}-{d}" for y in years for m in parts for d in days]


def test_a_dashed_date_reads_the_same_by_cast_as_by_strptime() -> None:
    """The date normalisation casts ``\\d{4}-\\d{1,2}-\\d{1,2}`` texts to DATE; ``try_strptime`` with
    ``%Y-%m-%d`` (what it used before) must read every such text the same, real dates or not."""
    con = duckdb.connect()
    con.execute("CREATE TABLE v AS SELECT unnest($1::VARCHAR[]) AS x", [_dashed_spellings()])
    total, differ, valid = con.execute(  # type: ignore[misc]
        "SELECT count(*), count(*) FILTER (WHERE try_cast(x AS DATE) IS DISTINCT FROM "
        "CAST(try_strptime(x, '%Y-%m-%d') AS DATE)), count(try_cast(x AS DATE)) FROM v"
    ).fetchone()
    assert total > 100_000 and 0 < valid < total
    assert differ == 0, con.execute(
        "SELECT x, try_cast(x AS DATE), try_strptime(x, '%Y-%m-%d') FROM v "
        "WHERE try_cast(x AS DATE) IS DISTINCT FROM CAST(try_strptime(x, '%Y-%m-%d') AS DATE) LIMIT 5"
    ).fetchall()


CASES = [
    ("date", "2020年3月1日", "2020-03-01", None),
    ("date", "2020/3/1日", "2020/3/1日", "日期格式错误，应为 YYYY-MM-DD、YYYYMMDD 或 YYYY年M月D日"),
    ("date", "2020-3-1日日", "2020-3-1日日", "日期格式错误，应为 YYYY-MM-DD、YYYYMMDD 或 YYYY年M月D日"),
    ("date", "2020年3月1", "2020年3月1", "日期格式错误，应为 YYYY-MM-DD、YYYYMMDD 或 YYYY年M月D日"),
    ("date", "日", "日", "日期格式错误，应为 YYYY-MM-DD、YYYYMMDD 或 YYYY年M月D日"),
    ("date", "２０２０年２月２９日 00:00", "2020-02-29", None),
    ("date", "2021年2月29日", "2021年2月29日", "日期无效"),
    ("date", "0000-1-1", "0000-01-01", None),
    ("date", " 2020.12.31 ", "2020-12-31", None),
    ("amount", "-¥ 1,234.5 元", "-1234.50", None),
    ("amount", "￥12元", "12.00", None),
    ("amount", "¥-5", "-5.00", None),
    ("amount", "12元元", "12元", "金额格式错误"),
    ("amount", "１，２３４．５", "1234.50", None),
    ("amount", "12.345元", "12.345", "金额最多保留两位小数"),
    ("amount", "1000000000000000.01", "1000000000000000.01", "金额超出范围"),
]


@pytest.mark.parametrize(("kind", "written", "normalised", "problem"), CASES)
def test_date_and_amount_spellings(kind: str, written: str, normalised: str, problem: str | None) -> None:
    con = duckdb.connect()
    semantic.register_functions(con)
    got = con.execute(
        f"SELECT {semantic.normalise_sql(kind, '$1')}, {semantic.problem_sql(kind, '$1')}, "
        f"{semantic.normalise_cleaned_sql(kind, semantic.cleaned_sql(kind, '$1', halfwidth_function=True))}",
        [written],
    ).fetchone()
    assert got == (normalised, problem, normalised)
