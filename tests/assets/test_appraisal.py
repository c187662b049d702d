"""Data-asset appraisal (中评协〔2023〕17号): the cost, income and market methods against figures computed
by hand (the arithmetic is in the comments), rounded half-up to the fen once at the end of a method;
every input listed with its evidence and a Chinese trace; bad input refused whole, each problem named;
the methods reconciled with the spread between them reported; and the classification under
财会〔2023〕11号."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from pubdata.assets.appraisal import (
    INTANGIBLE,
    INVENTORY,
    NOT_RECOGNISED,
    Comparable,
    Contribution,
    CostInput,
    DirectAdjustment,
    DirectIncome,
    EconomicLifeAdjustment,
    ExcessIncome,
    Figure,
    HoldingPurpose,
    IncomeInput,
    IncrementalIncome,
    InvalidAppraisal,
    MarketInput,
    QualityAdjustment,
    QualityDimension,
    ShareIncome,
    classify,
    cost_method,
    income_method,
    market_method,
    reconcile,
)


def fig(value: int | Decimal | str, evidence: str = "评估工作底稿 WP-01") -> Figure:
    return Figure(value, evidence)


def full_cost(adjustment) -> CostInput:
    # C = 100,000 + 200,000 + 150,000 + 50,000 + 100,000 + 250,000 + 80,000 + 40,000 + 20,000 + 10,000
    #   = 1,000,000 fen (10,000.00 元)
    return CostInput(
        adjustment=adjustment,
        planning=fig(100_000, "规划合同 HT-2024-001"),
        collection=fig(200_000, "采集外包发票 FP-88"),
        cleaning=fig(150_000),
        labelling=fig(50_000),
        storage=fig(100_000),
        development=fig(250_000),
        operation=fig(80_000),
        indirect=fig(40_000),
        opportunity=fig(20_000),
        taxes=fig(10_000),
    )


def refused(call, *args, **kwargs) -> InvalidAppraisal:
    with pytest.raises(InvalidAppraisal) as info:
        call(*args, **kwargs)
    assert info.value.status == 422 and info.value.code == "assets.invalid_appraisal"
    return info.value


def fields(error: InvalidAppraisal) -> list[str]:
    return [d["field"] for d in error.details]


# ---------------------------------------------------------------------------------------------- cost


def test_cost_method_with_a_given_coefficient():
    # C = 1,000,000 fen; δ = 0.8 → P = 1,000,000 × 0.8 = 800,000 fen
    result = cost_method(full_cost(DirectAdjustment(fig("0.8", "专家评议纪要 ZJ-3"))))
    assert result.method == "cost" and result.title == "成本法"
    assert result.replacement_cost_fen == 1_000_000
    assert result.delta == Fraction(4, 5) and result.delta_source == "direct"
    assert result.value_fen == 800_000
    assert result.trace[0] == (
        "重置成本 C = 规划 1,000.00 元 + 采集 2,000.00 元 + 清洗 1,500.00 元 + 标注 500.00 元 + 存储 1,000.00 元"
        " + 开发 2,500.00 元 + 运维 800.00 元 + 间接成本 400.00 元 + 机会成本 200.00 元 + 相关税费 100.00 元"
        " = 10,000.00 元"
    )
    assert "P = C × δ = 10,000.00 元 × 0.8 = 8,000.00 元" in result.trace[2]
    # every figure is listed with its evidence
    by_key = {i.key: i for i in result.inputs}
    assert by_key["cost.planning"].value == 100_000 and by_key["cost.planning"].evidence == "规划合同 HT-2024-001"
    assert by_key["cost.planning"].label == "规划成本" and by_key["cost.taxes"].label == "相关税费"
    assert by_key["cost.adjustment.coefficient"].value == Decimal("0.8")
    assert by_key["cost.adjustment.coefficient"].evidence == "专家评议纪要 ZJ-3"
    assert len(result.inputs) == 11


def test_cost_method_coefficient_from_the_quality_report():
    # δ = 0.3×0.9 + 0.3×0.8 + 0.2×1 + 0.1×0.7 + 0.1×0.6 = 0.27 + 0.24 + 0.2 + 0.07 + 0.06 = 0.84
    # P = 1,000,000 × 0.84 = 840,000 fen
    dims = [
        QualityDimension("完整性", fig("0.9"), fig("0.3")),
        QualityDimension("准确性", fig("0.8"), fig("0.3")),
        QualityDimension("一致性", fig(1), fig("0.2")),
        QualityDimension("时效性", fig("0.7"), fig("0.1")),
        QualityDimension("规范性", fig("0.6"), fig("0.1")),
    ]
    result = cost_method(full_cost(QualityAdjustment(dims, report_ref="QR-2026-07")))
    assert result.delta == Fraction(84, 100) and result.delta_source == "quality"
    assert result.value_fen == 840_000
    assert "= 0.84（质量评价报告 QR-2026-07）" in result.trace[1]
    assert "0.3 × 0.9（完整性）" in result.trace[1]


def test_cost_method_coefficient_from_remaining_economic_life():
    # δ = 3 / (2 + 3) = 0.6 → P = 1,000,000 × 0.6 = 600,000 fen
    life = EconomicLifeAdjustment(used_years=fig(2, "上线日期 2024-11"), remaining_years=fig(3, "授权期至 2029-11"))
    assert cost_method(full_cost(life)).value_fen == 600_000
    # δ = 2 / (1 + 2) = 2/3, kept exact → P = 1,000,000 × 2/3 = 666,666.67 fen → 666,667 fen
    result = cost_method(full_cost(EconomicLifeAdjustment(fig(1), fig(2))))
    assert result.delta == Fraction(2, 3)
    assert result.exact_value_fen == Fraction(2_000_000, 3)
    assert result.value_fen == 666_667


def test_cost_components_left_out_are_neither_summed_nor_listed():
    result = cost_method(CostInput(adjustment=DirectAdjustment(fig(1)), collection=fig(5_000), storage=fig(0)))
    assert result.replacement_cost_fen == 5_000 and result.value_fen == 5_000
    assert [i.key for i in result.inputs] == ["cost.collection", "cost.storage", "cost.adjustment.coefficient"]


def test_cost_rounds_half_up_at_the_end():
    # C = 1,000,001 fen; δ = 0.5 → 500,000.5 fen → half-up 500,001 (half-to-even would give 500,000)
    result = cost_method(CostInput(adjustment=DirectAdjustment(fig("0.5")), planning=fig(1_000_001)))
    assert result.exact_value_fen == Fraction(1_000_001, 2)
    assert result.value_fen == 500_001
    assert result.trace[-1] == "四舍五入到分：P = 5,000.01 元（500,001 分）"


@pytest.mark.parametrize("delta", ["0", "-0.1"])
def test_cost_refuses_a_coefficient_not_above_zero(delta):
    error = refused(cost_method, full_cost(DirectAdjustment(fig(delta))))
    assert fields(error) == ["cost.adjustment.coefficient"]
    assert "价值调整系数 δ 必须大于零" in error.message


def test_cost_refuses_a_coefficient_above_the_cap():
    assert cost_method(full_cost(DirectAdjustment(fig("1.5")))).value_fen == 1_500_000
    error = refused(cost_method, full_cost(DirectAdjustment(fig("1.51"))))
    assert "价值调整系数 δ 不能大于 1.5" in error.message


def test_cost_refuses_quality_weights_not_summing_to_one_and_scores_out_of_range():
    dims = [QualityDimension("完整性", fig("0.9"), fig("0.5")), QualityDimension("准确性", fig("1.2"), fig("0.4"))]
    error = refused(cost_method, full_cost(QualityAdjustment(dims)))
    assert "质量维度「准确性」的得分必须在 [0, 1] 之内：1.2" in error.message
    assert "质量评价的权重之和必须恰好为 1，实为 0.9" in error.message


def test_cost_refuses_a_zero_quality_coefficient():
    dims = [QualityDimension("完整性", fig(0), fig(1))]
    assert "价值调整系数 δ 必须大于零：0" in refused(cost_method, full_cost(QualityAdjustment(dims))).message


def test_cost_refuses_negative_and_non_fen_components_and_a_zero_total():
    error = refused(
        cost_method,
        CostInput(
            adjustment=DirectAdjustment(fig("0.8")),
            planning=fig(-1),
            collection=fig(Decimal("100")),  # an amount is whole fen as an int, never a Decimal
            cleaning=fig("300"),
        ),
    )
    assert fields(error) == ["cost.planning", "cost.collection", "cost.cleaning"]
    assert "规划成本不能为负数：-1 分" in error.message
    assert "采集成本必须是整数分，不能是 Decimal" in error.message
    error = refused(cost_method, CostInput(adjustment=DirectAdjustment(fig(1)), planning=fig(0)))
    assert "重置成本 C 必须大于零" in error.message
    assert "至少给出一项" in refused(cost_method, CostInput(adjustment=DirectAdjustment(fig(1)))).message


def test_cost_refuses_a_remaining_life_of_zero():
    error = refused(cost_method, full_cost(EconomicLifeAdjustment(fig(3), fig(0))))
    assert "剩余经济寿命必须大于零" in error.message


# -------------------------------------------------------------------------------------- any figure


@pytest.mark.parametrize("value, words", [(0.8, "不能是浮点数"), (True, "不能是布尔值"), ("八成", "不是有效的小数")])
def test_rates_refuse_floats_booleans_and_non_numbers(value, words):
    error = refused(cost_method, full_cost(DirectAdjustment(Figure(value, "专家评议"))))
    assert f"价值调整系数 δ {words}" in error.message


def test_a_float_amount_is_refused():
    error = refused(cost_method, CostInput(adjustment=DirectAdjustment(fig(1)), planning=Figure(1000.0, "发票")))
    assert "规划成本必须是整数分，不能是 float" in error.message


@pytest.mark.parametrize("evidence", ["", "   "])
def test_every_figure_needs_its_evidence(evidence):
    data = CostInput(adjustment=DirectAdjustment(Figure("0.8", evidence)), planning=Figure(1000, evidence))
    error = refused(cost_method, data)
    assert fields(error) == ["cost.planning", "cost.adjustment.coefficient"]
    assert "规划成本缺少依据" in error.message and "价值调整系数 δ 缺少依据" in error.message


def test_every_problem_is_named_at_once():
    data = IncomeInput(
        basis=ShareIncome([fig(100)] * 3, fig(0)),
        discount_rate=fig(0),
        years=Figure(3, ""),
    )
    error = refused(income_method, data)
    assert fields(error) == ["income.discount_rate", "income.years", "income.basis.share"]


# -------------------------------------------------------------------------------------------- income


def test_income_discounting_over_three_years_to_the_fen():
    # F = 10,000,000 / 12,000,000 / 15,000,000 fen; i = 0.1
    # PV1 = 10,000,000 / 1.1   =  9,090,909.0909…
    # PV2 = 12,000,000 / 1.21  =  9,917,355.3719…
    # PV3 = 15,000,000 / 1.331 = 11,269,722.0135…
    # P = 30,277,986.4763… fen (exactly 40,300,000,000 / 1,331) → 30,277,986 fen
    data = IncomeInput(
        basis=DirectIncome([fig(10_000_000, "2025 年审计报告"), fig(12_000_000), fig(15_000_000)]),
        discount_rate=fig("0.1", "WACC 测算表"),
        years=fig(3, "数据授权合同第 5 条"),
        contract_term_years=fig(5, "数据授权合同"),
    )
    result = income_method(data)
    assert result.exact_value_fen == Fraction(40_300_000_000, 1_331)
    assert result.value_fen == 30_277_986
    assert result.years == 3 and result.discount_rate == Decimal("0.1")
    assert result.yearly_income_fen == (10_000_000, 12_000_000, 15_000_000)
    assert result.present_values_fen[1] == Fraction(12_000_000 * 100, 121)
    assert "第 3 年现值 = F3 / (1 + 0.1)^3 = 150,000.00 元 / 1.331 = ≈112,697.220135 元" in result.trace
    assert result.trace[-1] == "四舍五入到分：P = 302,779.86 元（30,277,986 分）"
    assert {i.key: i.evidence for i in result.inputs}["income.discount_rate"] == "WACC 测算表"


def test_income_share_of_the_enterprise_income():
    # Fₜ = 1,000,000 × 0.25 = 250,000 fen; i = 0.08
    # P = 250,000 / 1.08 + 250,000 / 1.1664 = 231,481.4815 + 214,334.7051 = 445,816.1866 → 445,816 fen
    data = IncomeInput(ShareIncome([fig(1_000_000), fig(1_000_000)], fig("0.25")), fig("0.08"), fig(2))
    result = income_method(data)
    assert result.yearly_income_fen == (250_000, 250_000)
    assert result.value_fen == 445_816


def test_income_share_keeps_fractions_of_a_fen_until_the_end():
    # F₁ = 3 × 0.5 = 1.5 fen, kept exact; i = 0.2
    # P = 1.5 / 1.2 = 1.25 → 1 fen (rounding F₁ to 2 fen first would give 2 / 1.2 = 1.67 → 2 fen)
    result = income_method(IncomeInput(ShareIncome([fig(3)], fig("0.5")), fig("0.2"), fig(1)))
    assert result.yearly_income_fen == (Fraction(3, 2),)
    assert result.exact_value_fen == Fraction(5, 4)
    assert result.value_fen == 1


def test_income_excess_over_the_other_contributing_assets():
    # F₁ = 500,000 − 100,000 (固定资产) − 50,000 (营运资金) = 350,000 fen; i = 0.25
    # P = 350,000 / 1.25 = 280,000 fen
    basis = ExcessIncome(
        total_income=[fig(500_000)],
        contributions=[Contribution("固定资产", [fig(100_000)]), Contribution("营运资金", [fig(50_000)])],
    )
    result = income_method(IncomeInput(basis, fig("0.25"), fig(1)))
    assert result.value_fen == 280_000
    assert "F1 = 5,000.00 元 − 固定资产 1,000.00 元 − 营运资金 500.00 元 = 3,500.00 元" in result.trace[1]


def test_income_incremental_with_and_without_the_asset():
    # Fₜ = 900,000 − 600,000 = 300,000 fen; i = 0.5
    # P = 300,000 / 1.5 + 300,000 / 2.25 = 200,000 + 133,333.33… = 333,333.33… → 333,333 fen
    basis = IncrementalIncome([fig(900_000), fig(900_000)], [fig(600_000), fig(600_000)])
    assert income_method(IncomeInput(basis, fig("0.5"), fig(2))).value_fen == 333_333


def test_income_rounds_half_up_at_the_end_only():
    # F₁ = 3 fen, F₂ = 10 fen; i = 0.25
    # PV₁ = 3 / 1.25 = 2.4; PV₂ = 10 / 1.5625 = 6.4; P = 8.8 → 9 fen
    # (rounding each year first would give 2 + 6 = 8 fen)
    result = income_method(IncomeInput(DirectIncome([fig(3), fig(10)]), fig("0.25"), fig(2)))
    assert result.present_values_fen == (Fraction(12, 5), Fraction(32, 5))
    assert result.value_fen == 9


def test_income_horizon_limited_by_the_update_cycle():
    basis = DirectIncome([fig(1_000_000)] * 3)
    data = IncomeInput(
        basis,
        fig("0.1"),
        fig(3),
        contract_term_years=fig(5, "授权合同"),
        update_cycle_years=fig(2, "数据更新计划"),
    )
    error = refused(income_method, data)
    assert fields(error) == ["income.years"]
    assert "收益期 n = 3 年超过了最短的期限：更新周期 2 年" in error.message
    # within the limit: n = 2 → 1,000,000 / 1.1 + 1,000,000 / 1.21 = 909,090.91 + 826,446.28 = 1,735,537.19 → 1,735,537
    ok = IncomeInput(DirectIncome([fig(1_000_000)] * 2), fig("0.1"), fig(2), fig(5), fig(2), fig("2.5"))
    result = income_method(ok)
    assert result.value_fen == 1_735_537
    assert result.trace[0].startswith("收益期 n = 2 年（合同期限 5 年；更新周期 2 年；时效性 2.5 年）")


def test_income_horizon_names_every_limit_that_binds():
    data = IncomeInput(DirectIncome([fig(1)] * 4), fig("0.1"), fig(4), fig(3), None, fig(3))
    assert "合同期限 3 年、时效性 3 年" in refused(income_method, data).message


@pytest.mark.parametrize("rate", ["0", "-0.05"])
def test_income_refuses_a_discount_rate_not_above_zero(rate):
    error = refused(income_method, IncomeInput(DirectIncome([fig(100)]), fig(rate), fig(1)))
    assert f"折现率 i 必须大于零：{rate}" in error.message


@pytest.mark.parametrize("years, words", [(0, "必须至少为 1 年"), (-1, "必须至少为 1 年"), ("1.5", "必须是整年数")])
def test_income_refuses_a_horizon_that_is_not_a_whole_positive_number_of_years(years, words):
    error = refused(income_method, IncomeInput(DirectIncome([fig(100)]), fig("0.1"), fig(years)))
    assert f"收益期 n {words}" in error.message


@pytest.mark.parametrize("share", ["0", "1.01", "-0.2"])
def test_income_refuses_a_share_rate_outside_zero_to_one(share):
    error = refused(income_method, IncomeInput(ShareIncome([fig(100)], fig(share)), fig("0.1"), fig(1)))
    assert f"分成率 K 必须在 (0, 1] 之内：{share}" in error.message


def test_income_accepts_a_share_rate_of_one():
    assert income_method(IncomeInput(ShareIncome([fig(110)], fig(1)), fig("0.1"), fig(1))).value_fen == 100


def test_income_refuses_a_year_list_whose_length_differs_from_n():
    error = refused(income_method, IncomeInput(DirectIncome([fig(100)] * 2), fig("0.1"), fig(3)))
    assert "直接收益的年数（2 年）与收益期 n = 3 年不一致" in error.message


def test_income_refuses_a_value_that_is_not_positive():
    error = refused(income_method, IncomeInput(DirectIncome([fig(-500), fig(100)]), fig("0.1"), fig(2)))
    assert "收益法结果不为正" in error.message


# -------------------------------------------------------------------------------------------- market


def three_comparables() -> list[Comparable]:
    return [
        # 1,000,000 × 1.1 × 0.95 × 1.02 × 1 × 1 = 1,000,000 × 1.0659 = 1,065,900 fen
        Comparable(
            "A 市交通数据集",
            fig(1_000_000, "结算单 S-1"),
            fig("1.1", "质量得分 0.88 ÷ 0.80"),
            fig("0.95"),
            fig("1.02", "价格指数 102 ÷ 100"),
            fig(1),
            fig(1),
            transaction_ref="settlement:2026-09:17",
        ),
        # 800,000 × 1.2 × 1 × 1 × 1.05 × 0.98 = 800,000 × 1.2348 = 987,840 fen
        Comparable("B 区医疗数据", fig(800_000), fig("1.2"), fig(1), fig(1), fig("1.05"), fig("0.98")),
        # 1,200,000 × 0.9 × 1 × 1 × 0.95 × 1 = 1,200,000 × 0.855 = 1,026,000 fen
        Comparable("C 港航贸数据", fig(1_200_000), fig("0.9"), fig(1), fig(1), fig("0.95"), fig(1)),
    ]


def test_market_method_simple_mean_of_the_adjusted_prices():
    # P = (1,065,900 + 987,840 + 1,026,000) / 3 = 3,079,740 / 3 = 1,026,580 fen
    result = market_method(MarketInput(three_comparables()))
    assert result.adjusted_prices_fen == (1_065_900, 987_840, 1_026_000)
    assert result.value_fen == 1_026_580
    assert result.warnings == ()
    assert result.trace[0] == (
        "可比案例「A 市交通数据集」（交易 settlement:2026-09:17）：P = Q × X1 × X2 × X3 × X4 × X5"
        " = 10,000.00 元 × 1.1 × 0.95 × 1.02 × 1 × 1 = 10,659.00 元"
    )
    by_key = {i.key: i.evidence for i in result.inputs}
    assert by_key["market.comparables[0].X1"] == "质量得分 0.88 ÷ 0.80"
    assert by_key["market.comparables[0].price"] == "结算单 S-1"


def test_market_method_weighted():
    # P = 0.5 × 1,065,900 + 0.3 × 987,840 + 0.2 × 1,026,000 = 532,950 + 296,352 + 205,200 = 1,034,502 fen
    result = market_method(MarketInput(three_comparables(), weights=[fig("0.5"), fig("0.3"), fig("0.2")]))
    assert result.value_fen == 1_034_502


def test_market_method_warns_below_three_comparables():
    result = market_method(MarketInput(three_comparables()[:2]))
    # (1,065,900 + 987,840) / 2 = 1,026,870 fen
    assert result.value_fen == 1_026_870
    assert len(result.warnings) == 1 and "可比案例只有 2 个" in result.warnings[0]


def test_market_refuses_no_comparable():
    assert "至少需要一个可比案例" in refused(market_method, MarketInput([])).message


@pytest.mark.parametrize("value", ["0", "-1.1"])
def test_market_refuses_a_factor_not_above_zero_naming_comparable_and_factor(value):
    comps = three_comparables()
    b = comps[1]
    comps[1] = Comparable(b.name, b.price, b.quality, fig(value), b.date, b.capacity, b.other)
    error = refused(market_method, MarketInput(comps))
    assert fields(error) == ["market.comparables[1].X2"]
    assert f"可比案例「B 区医疗数据」的供求调整系数 X2 必须大于零：{value}" in error.message


def test_market_refuses_weights_not_summing_to_one_or_not_one_per_comparable():
    error = refused(market_method, MarketInput(three_comparables(), weights=[fig("0.5"), fig("0.3"), fig("0.3")]))
    assert "可比案例的权重之和必须恰好为 1，实为 1.1" in error.message
    error = refused(market_method, MarketInput(three_comparables(), weights=[fig("0.5"), fig("0.5")]))
    assert "权重个数（2）与可比案例个数（3）不一致" in error.message


def test_market_refuses_a_price_of_zero():
    comps = three_comparables()
    a = comps[0]
    comps[0] = Comparable(a.name, fig(0), a.quality, a.supply_demand, a.date, a.capacity, a.other)
    assert "交易价格 Q 必须大于 0 分" in refused(market_method, MarketInput(comps)).message


# ---------------------------------------------------------------------------------------- reconcile


def cost_of(fen: int):
    return cost_method(CostInput(adjustment=DirectAdjustment(fig(1)), planning=fig(fen)))


def income_of(fen: int):
    # F₁ = fen × 1.1 → discounted by 1.1 it is fen again
    return income_method(IncomeInput(DirectIncome([fig(fen * 11 // 10)]), fig("0.1"), fig(1)))


def market_of(fen: int):
    comps = [Comparable(f"案例{n}", fig(fen), fig(1), fig(1), fig(1), fig(1), fig(1)) for n in range(3)]
    return market_method(MarketInput(comps))


def test_reconcile_by_weights_notes_a_spread_above_thirty_percent():
    results = [cost_of(800_000), income_of(1_200_000), market_of(1_000_000)]
    assert [r.value_fen for r in results] == [800_000, 1_200_000, 1_000_000]
    # P = 0.2 × 800,000 + 0.5 × 1,200,000 + 0.3 × 1,000,000 = 160,000 + 600,000 + 300,000 = 1,060,000 fen
    # spread = 1,200,000 / 800,000 = 1.5 > 1.3
    rec = reconcile(results, [fig("0.2", "成本法仅反映投入"), fig("0.5", "收益可预测"), fig("0.3")])
    assert rec.value_fen == 1_060_000
    assert rec.spread_ratio == Fraction(3, 2)
    assert rec.spread_note is not None and "1.5 倍" in rec.spread_note and "超过 30%" in rec.spread_note
    assert {i.key: i.evidence for i in rec.inputs}["reconcile.weights[0]"] == "成本法仅反映投入"
    assert rec.trace[-1] == "方法间差异：最高 / 最低 = 1.5"


def test_reconcile_no_note_within_thirty_percent_and_rounds_half_up():
    # spread = 1,300,000 / 1,000,000 = 1.3, not above 1.3: no note
    # P = 0.5 × 1,000,001 + 0.5 × 1,300,000 = 500,000.5 + 650,000 = 1,150,000.5 → 1,150,001 fen
    rec = reconcile([cost_of(1_000_001), market_of(1_300_000)], [fig("0.5"), fig("0.5")])
    assert rec.spread_ratio == Fraction(1_300_000, 1_000_001)
    assert rec.spread_note is None
    assert rec.value_fen == 1_150_001


def test_reconcile_a_method_may_carry_no_weight():
    rec = reconcile([cost_of(500_000), income_of(1_000_000)], [fig(0, "成本与价值相关性弱"), fig(1)])
    assert rec.value_fen == 1_000_000 and rec.spread_note is not None


def test_reconcile_adopting_one_method_needs_a_reason():
    results = [cost_of(900_000), income_of(1_000_000)]
    rec = reconcile(results, None, conclusion_method="income", reason="收益稳定且可合理预测")
    assert rec.value_fen == 1_000_000 and rec.weights == (0, 1) and rec.conclusion_method == "income"
    assert "评估结论采用收益法的结果 10,000.00 元：收益稳定且可合理预测" in rec.trace
    assert "必须说明理由" in refused(reconcile, results, None, conclusion_method="income").message
    assert "不在已计算的结果之中" in refused(reconcile, results, None, conclusion_method="market", reason="x").message


def test_reconcile_refusals():
    results = [cost_of(900_000), income_of(1_000_000)]
    error = refused(reconcile, results, [fig("0.6"), fig("0.6")])
    assert "各评估方法的权重之和必须恰好为 1，实为 1.2" in error.message
    assert "二选一" in refused(reconcile, results, [fig("0.5"), fig("0.5")], conclusion_method="cost").message
    assert "必须给出各评估方法的权重" in refused(reconcile, results, None).message
    assert "同一评估方法出现了多次：成本法" in refused(reconcile, [results[0], results[0]], [fig("0.5")] * 2).message
    assert "权重个数（1）与评估方法个数（2）不一致" in refused(reconcile, results, [fig(1)]).message


# ------------------------------------------------------------------------------------ classification


def test_classify_data_used_in_operations_or_to_provide_services_as_an_intangible_asset():
    own = classify(HoldingPurpose.OWN_USE, True, True, True)
    assert own.category == INTANGIBLE == "无形资产"
    assert own.standard == "《企业会计准则第6号——无形资产》"
    assert "企业内部使用的数据资源，符合无形资产的定义和确认条件" in own.reason
    services = classify("services", True, True, True)
    assert services.category == INTANGIBLE and "《企业会计准则第14号——收入》" in services.reason


def test_classify_data_held_for_sale_as_inventory():
    result = classify("sale", True, True, True)
    assert result.category == INVENTORY == "存货"
    assert "日常活动中持有、最终目的用于出售的数据资源" in result.reason


@pytest.mark.parametrize(
    "benefits, cost, controlled, words",
    [
        (True, True, False, "企业并不合法拥有或控制该数据资源"),
        (False, True, True, "经济利益并非很可能流入企业"),
        (True, False, True, "成本不能够可靠地计量"),
    ],
)
def test_classify_not_recognised_when_a_condition_fails(benefits, cost, controlled, words):
    result = classify("sale", benefits, cost, controlled)
    assert result.category == NOT_RECOGNISED == "不确认为资产（费用化）"
    assert words in result.reason and "费用化" in result.reason


def test_classify_names_every_failed_condition_and_refuses_bad_input():
    result = classify("own_use", False, False, False)
    assert result.reason.count("；") >= 2
    error = refused(classify, "invest", True, "yes", True)
    assert fields(error) == ["classify.holding_purpose", "classify.cost_reliably_measurable"]
