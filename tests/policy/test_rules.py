"""The rules language: parsing with clear errors, type checks, three-valued evaluation, and the SQL
compilation giving the same answers as the Python evaluator."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import duckdb
import pytest

from pubdata.rules.evaluate import conditions, evaluate
from pubdata.rules.expr import (
    Compare,
    Const,
    Fact,
    InvalidExpression,
    compile_condition,
    compile_number,
    facts_used,
    number,
    parse,
    substitute,
)
from pubdata.rules.sql import to_sql

TYPES: dict[str, Any] = {"export": "number", "site": "boolean", "district": "string", "months": "number"}


def test_numbers_read_as_policy_texts_write_them() -> None:
    assert number("2000万") == 20_000_000
    assert number("2亿") == 200_000_000
    assert number("1.5万") == 15_000
    assert number("50%") == Decimal("0.5")
    assert number("1_000") == 1000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("export >", "表达式不完整"),
        ("export > > 2", "第 10 列"),
        ("export $ 2", "无法识别的字符 “$”"),
        ("unknown_fact > 1", "未知的事实：unknown_fact"),
        ("site > 1", "不能比较是/否与数值"),
        ("export and site", "and / or / not 只能连接条件"),
        ("district > '崂山区'", "只能用 == 或 != 比较"),
        ("sqrt(export) > 1", "未知的函数：sqrt"),
        ("min(export) > 1", "需要 2 个参数"),
        ("district in [site]", "只能包含常量"),
        ("export + 1", "条件应为是/否的判断"),
        ("", "表达式为空"),
        ("__import__('os')", "未知的函数"),
    ],
)
def test_bad_expressions_are_named(text: str, message: str) -> None:
    with pytest.raises(InvalidExpression, match=message.replace("(", r"\(").replace("$", r"\$")):
        compile_condition(text, TYPES)


def test_amount_expressions_must_be_numbers() -> None:
    assert facts_used(compile_number("min(export * 50%, 10万)", TYPES)) == ["export"]
    with pytest.raises(InvalidExpression, match="应为数值表达式"):
        compile_number("site", TYPES)


@pytest.mark.parametrize(
    ("facts", "value", "missing"),
    [
        ({"site": True, "export": 20_000_001}, True, set()),
        ({"site": True, "export": 20_000_000}, False, set()),  # 超过 is strict
        ({"site": False}, False, set()),  # false and unknown is false: nothing is missing
        ({"site": None, "export": 30_000_000}, None, {"site"}),
        ({}, None, {"site", "export"}),
    ],
)
def test_unknown_facts_follow_three_valued_logic(facts: dict[str, Any], value: bool | None, missing: set[str]) -> None:
    node = parse("site and export > 2000万")
    outcome = evaluate(node, facts)
    assert outcome.value is value
    assert outcome.missing == missing


CASES = [
    "site and export > 2000万",
    "not site or export >= 3000万",
    "district in ['市南区', '崂山区'] and not (months < 12)",
    "district not in ['市南区'] or site",
    "min(export * 50%, 10万) >= 10万",
    "max(export, months) - 5 > 100",
    "export / months > 1000",  # months = 0: division by zero is unknown on both sides
    "-export + 3 == 1 or site != true",
]
ROWS = [
    {"export": 25_000_000, "site": True, "district": "崂山区", "months": 12},
    {"export": 20_000_000, "site": False, "district": "市南区", "months": 0},
    {"export": None, "site": True, "district": None, "months": 30},
    {"export": 199_999, "site": None, "district": "黄岛区", "months": None},
    {"export": 0, "site": None, "district": None, "months": 0},
]


@pytest.mark.parametrize("text", CASES)
def test_sql_compilation_agrees_with_the_evaluator(text: str) -> None:
    node = parse(text)
    con = duckdb.connect()
    con.execute("CREATE TABLE f (export BIGINT, site BOOLEAN, district VARCHAR, months BIGINT)")
    con.executemany("INSERT INTO f VALUES (?, ?, ?, ?)", [tuple(r.values()) for r in ROWS])
    by_sql = [r[0] for r in con.execute(f"SELECT {to_sql(node)} FROM f ORDER BY rowid").fetchall()]
    assert by_sql == [evaluate(node, row).value for row in ROWS]


def test_string_constants_cannot_change_the_statement() -> None:
    with pytest.raises(InvalidExpression, match="语法错误"):
        parse("district == 'x'' OR 1=1 --'")  # a quote cannot be written inside a string
    node = Compare(1, "==", Fact(1, "district"), Const(1, "x' OR 1=1 --"))  # built directly, still quoted
    con = duckdb.connect()
    assert con.execute(f"SELECT {to_sql(node)} FROM (SELECT 'y' AS district)").fetchone() == (False,)


def test_conditions_lists_the_simple_conditions_for_explanations() -> None:
    node = parse("site and (export > 1 or not site) and district == 'x'")
    assert [type(n).__name__ for n in conditions(node)] == ["Fact", "Compare", "Not", "Compare"]


def test_named_conditions_are_inlined_everywhere_a_fact_may_stand() -> None:
    big = parse("export >= 2000万 and months > 0")
    node = substitute(parse("not big or (site and big) or min(months, 3) in [1, 2] or -months < 0"), {"big": big})
    assert facts_used(node) == ["export", "months", "site"]
    for row in ROWS:
        inlined = evaluate(node, row)
        by_hand = evaluate(parse("not (export >= 2000万 and months > 0) or (site and export >= 2000万 and months > 0)"
                                 " or min(months, 3) in [1, 2] or -months < 0"), row)  # fmt: skip
        assert (inlined.value, inlined.missing) == (by_hand.value, by_hand.missing)
