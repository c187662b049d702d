"""Price plans, pure: what is refused (whole, every problem named in Chinese, the field given) and
what each plan charges at its edges, in hand-computed integer fen."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pubdata.market import plans
from pubdata.market.errors import InvalidPlan, InvalidUsage, PlanNotAllowed
from pubdata.market.schemas import PlanIn


def plan(kind: str, product_kind: str = "api", **terms) -> plans.PlanTerms:
    return plans.check_plan(PlanIn(code="p", title="计划", kind=kind, **terms), product_kind)


def bill(p: plans.PlanTerms, calls: int) -> tuple[list[tuple[str, int, int, int]], int]:
    lines = plans.charge(p, calls)
    return [(x.charge_type, x.quantity, x.unit_price_fen, x.amount_fen) for x in lines], plans.owed(lines)


# --- charges ------------------------------------------------------------------------------------

PER_CALL = {"unit_price_fen": 5, "free_quota": 100, "monthly_cap_fen": 1000}


@pytest.mark.parametrize(
    ("calls", "lines", "owed"),
    [
        (0, [], 0),
        (1, [("free_quota", 1, 0, 0)], 0),
        (100, [("free_quota", 100, 0, 0)], 0),  # exactly the free quota
        (101, [("free_quota", 100, 0, 0), ("variable", 1, 5, 5)], 5),  # one call over
        (300, [("free_quota", 100, 0, 0), ("variable", 200, 5, 1000)], 1000),  # exactly at the cap
        (301, [("free_quota", 100, 0, 0), ("variable", 201, 5, 1005), ("cap_reached", 0, 0, -5)], 1000),
        (10_100, [("free_quota", 100, 0, 0), ("variable", 10_000, 5, 50_000), ("cap_reached", 0, 0, -49_000)], 1000),
    ],
)
def test_per_call_bills_beyond_the_free_quota_up_to_the_monthly_cap(calls, lines, owed):
    assert bill(plan("per_call", **PER_CALL), calls) == (lines, owed)


def test_per_call_without_a_cap_or_free_quota_bills_every_call():
    assert bill(plan("per_call", unit_price_fen=3), 7) == ([("variable", 7, 3, 21)], 21)
    assert plan("per_call", unit_price_fen=3).free_quota == 0


TIERS = [
    {"up_to": 1000, "unit_price_fen": 10},
    {"up_to": 5000, "unit_price_fen": 8},
    {"up_to": None, "unit_price_fen": 5},
]


@pytest.mark.parametrize(
    ("calls", "owed"),
    [
        (1, 10),
        (1000, 10_000),  # the first tier's edge
        (1001, 10_008),  # the first call of the second tier
        (5000, 10_000 + 4000 * 8),  # 42_000: the second tier's edge
        (5001, 42_005),  # the open tier
        (6000, 42_000 + 1000 * 5),
    ],
)
def test_tiered_prices_each_call_at_the_tier_it_falls_in(calls, owed):
    assert bill(plan("tiered", tiers=TIERS), calls)[1] == owed


def test_tiered_lines_name_their_tiers_and_a_zero_tier_is_free_quota():
    p = plan("tiered", tiers=[{"up_to": 50, "unit_price_fen": 0}, {"up_to": None, "unit_price_fen": 20}])
    lines = plans.charge(p, 60)
    assert [(x.charge_type, x.tier, x.quantity, x.amount_fen) for x in lines] == [
        ("free_quota", 1, 50, 0),
        ("variable", 2, 10, 200),
    ]


def test_tiered_with_a_cap_is_cut_at_the_cap():
    p = plan("tiered", tiers=TIERS, monthly_cap_fen=40_000)
    assert bill(p, 4750)[1] == 10_000 + 3750 * 8  # 40_000 exactly: no cap line
    assert [x[0] for x in bill(p, 4750)[0]] == ["variable", "variable"]
    lines, owed = bill(p, 5000)
    assert owed == 40_000 and lines[-1] == ("cap_reached", 0, 0, -2000)


def test_fixed_and_free_plans():
    assert bill(plan("one_off", "dataset", price_fen=880_000), 0) == ([("fixed", 1, 880_000, 880_000)], 880_000)
    sub = plan("subscription", price_fen=1_200_000, term_months=12)
    assert bill(sub, 123_456) == ([("fixed", 1, 1_200_000, 1_200_000)], 1_200_000)  # calls are included
    assert bill(plan("free", public_interest_only=True), 42) == ([("trial", 42, 0, 0)], 0)


def test_ceilings_of_the_public_price_list():
    assert plans.ceiling(plan("free", public_interest_only=True)) == 0
    assert plans.ceiling(plan("one_off", "dataset", price_fen=500)) == 500
    assert plans.ceiling(plan("subscription", price_fen=9900, term_months=1)) == 9900
    assert plans.ceiling(plan("per_call", **PER_CALL)) == 1000
    assert plans.ceiling(plan("per_call", unit_price_fen=5)) is None  # uncapped
    assert plans.ceiling(plan("tiered", tiers=TIERS)) is None


@pytest.mark.parametrize("calls", [-1, 1.0, "10", True, None, Decimal(3)])
def test_usage_must_be_a_whole_number_of_calls(calls):
    with pytest.raises(InvalidUsage):
        plans.charge(plan("per_call", **PER_CALL), calls)


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "product_kind", "terms", "field", "says"),
    [
        ("one_off", "dataset", {"price_fen": 99.5}, "price_fen", "必须是整数"),
        ("one_off", "dataset", {"price_fen": 100.0}, "price_fen", "必须是整数"),  # a whole float is still a float
        ("one_off", "dataset", {"price_fen": Decimal("100")}, "price_fen", "必须是整数"),
        ("one_off", "dataset", {"price_fen": "100"}, "price_fen", "必须是整数"),
        ("one_off", "dataset", {"price_fen": True}, "price_fen", "布尔值"),
        ("one_off", "dataset", {"price_fen": -1}, "price_fen", "不能小于 1"),
        ("one_off", "dataset", {"price_fen": 0}, "price_fen", "不能小于 1"),
        ("one_off", "dataset", {}, "price_fen", "须填写价格"),
        ("one_off", "dataset", {"price_fen": 100, "term_months": 12}, "term_months", "不设订阅期"),
        ("subscription", "api", {"price_fen": 100, "term_months": 37}, "term_months", "不能大于 36"),
        ("subscription", "api", {"price_fen": 100, "term_months": 0}, "term_months", "不能小于 1"),
        ("per_call", "api", {"unit_price_fen": 5, "free_quota": -1}, "free_quota", "不能小于 0"),
        ("per_call", "api", {"unit_price_fen": 0}, "unit_price_fen", "不能小于 1"),
        ("per_call", "api", {"unit_price_fen": 50, "monthly_cap_fen": 49}, "monthly_cap_fen", "低于一次调用的价格"),
        ("per_call", "api", {"unit_price_fen": 5, "monthly_cap_fen": -5}, "monthly_cap_fen", "不能小于 1"),
        (
            "tiered", "api",
            {"tiers": [{"up_to": 100, "unit_price_fen": 5}, {"up_to": 100, "unit_price_fen": 4},
                       {"up_to": None, "unit_price_fen": 3}]},
            "tiers[2].up_to", "阶梯须递增",
        ),
        (
            "tiered", "api",
            {"tiers": [{"up_to": None, "unit_price_fen": 5}, {"up_to": None, "unit_price_fen": 4}]},
            "tiers[1].up_to", "只有最后一档可以不封顶",
        ),
        ("tiered", "api", {"tiers": [{"up_to": 100, "unit_price_fen": 5}]}, "tiers[1].up_to", "最后一档须不封顶"),
        ("tiered", "api", {"tiers": []}, "tiers", "至少设一档"),
        ("tiered", "api", {"tiers": [{"up_to": None, "unit_price_fen": 1.5}]}, "tiers[1].unit_price_fen", "必须是整数"),
        (
            "tiered", "api",
            {"tiers": [{"up_to": 10, "unit_price_fen": 0}, {"up_to": None, "unit_price_fen": 8}], "monthly_cap_fen": 7},
            "monthly_cap_fen", "低于一次调用的价格 8 分",
        ),
        ("free", "api", {"public_interest_only": True, "price_fen": 100}, "price_fen", "不设价格"),
        ("free", "api", {"public_interest_only": False}, "public_interest_only", "公益"),
        ("subscription", "api", {"price_fen": 100, "term_months": 1, "public_interest_only": True},
         "public_interest_only", "只有公益免费计划"),
    ],
)  # fmt: skip
def test_a_bad_plan_is_refused_naming_the_field(kind, product_kind, terms, field, says):
    with pytest.raises(InvalidPlan) as refused:
        plan(kind, product_kind, **terms)
    assert field in [d["field"] for d in refused.value.details]
    assert says in refused.value.message and refused.value.status == 422


def test_every_problem_is_named_at_once():
    with pytest.raises(InvalidPlan) as refused:
        plan("per_call", unit_price_fen=2.5, free_quota="10", monthly_cap_fen=False, price_fen=3)
    assert sorted(d["field"] for d in refused.value.details) == [
        "free_quota", "monthly_cap_fen", "price_fen", "unit_price_fen",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("product_kind", "kind"),
    [("dataset", "per_call"), ("dataset", "tiered"), ("report", "subscription"), ("sandbox", "tiered"),
     ("verification", "one_off"), ("api", "one_off")],
)  # fmt: skip
def test_a_plan_kind_that_contradicts_the_product_is_refused(product_kind, kind):
    with pytest.raises(PlanNotAllowed) as refused:
        plan(kind, product_kind, price_fen=100, unit_price_fen=1)
    assert refused.value.details[0]["field"] == "kind" and "产品不能使用" in refused.value.message
