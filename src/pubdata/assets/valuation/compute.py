"""From stored inputs to the calculation core and back: a method's stored input (JSON, every figure
``{"value", "evidence", "attachment"}``) is rebuilt into the dataclasses of
``pubdata.assets.appraisal`` and computed; results and reconciliations are turned into JSON with
exact values kept as ``"numerator/denominator"`` strings. Pure: no database, so a stored report can
always be recomputed from its inputs."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from pubdata.assets import appraisal as core

METHOD_ORDER = ("cost", "income", "market")
FACTOR_KEYS = (("quality", "X1"), ("supply_demand", "X2"), ("date", "X3"), ("capacity", "X4"), ("other", "X5"))


def exact(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def decimal_text(x: Fraction) -> str:
    """An exact coefficient as shown: its decimal when it terminates, else ≈ to 6 places."""
    d = x.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    value = Decimal(x.numerator) / Decimal(x.denominator)
    if d == 1:
        return format(value.normalize(), "f")
    return "≈" + format(value.quantize(Decimal("0.000001")), "f")


class _Attachments:
    """Field path → attachment reference of the figures that carry one (shown next to the evidence)."""

    def __init__(self) -> None:
        self.by_key: dict[str, str] = {}

    def figure(self, raw: Any, key: str) -> core.Figure:
        if not isinstance(raw, dict):
            return raw  # type: ignore[no-any-return]  # refused by the core, naming the field
        if raw.get("attachment"):
            self.by_key[key] = str(raw["attachment"])
        return core.Figure(raw["value"], raw.get("evidence", ""))

    def optional(self, raw: Any, key: str) -> core.Figure | None:
        return None if raw is None else self.figure(raw, key)

    def years(self, raws: Sequence[Any], key: str) -> list[core.Figure]:
        return [self.figure(r, f"{key}[{t}]") for t, r in enumerate(raws)]


def _adjustment(a: _Attachments, raw: dict[str, Any]) -> core.Adjustment:
    key = "cost.adjustment"
    kind = raw.get("kind")
    if kind == "direct":
        return core.DirectAdjustment(a.figure(raw["coefficient"], f"{key}.coefficient"))
    if kind == "economic_life":
        return core.EconomicLifeAdjustment(
            a.figure(raw["used_years"], f"{key}.used_years"), a.figure(raw["remaining_years"], f"{key}.remaining_years")
        )
    dims = [
        core.QualityDimension(
            d["name"],
            a.figure(d["score"], f"{key}.dimensions[{n}].score"),
            a.figure(d["weight"], f"{key}.dimensions[{n}].weight"),
        )
        for n, d in enumerate(raw.get("dimensions", []))
    ]
    return core.QualityAdjustment(dims, raw.get("report_ref"))


def cost_input(raw: dict[str, Any]) -> tuple[core.CostInput, dict[str, str]]:
    a = _Attachments()
    parts = {attr: a.optional(raw.get(attr), f"cost.{attr}") for attr, _ in core.COST_COMPONENTS}
    return core.CostInput(adjustment=_adjustment(a, raw["adjustment"]), **parts), a.by_key


def income_input(raw: dict[str, Any]) -> tuple[core.IncomeInput, dict[str, str]]:
    a = _Attachments()
    b = raw["basis"]
    key = "income.basis"
    basis: core.IncomeBasis
    if b["kind"] == "direct":
        basis = core.DirectIncome(a.years(b["net_income"], f"{key}.net_income"))
    elif b["kind"] == "share":
        basis = core.ShareIncome(
            a.years(b["total_income"], f"{key}.total_income"), a.figure(b["share"], f"{key}.share")
        )
    elif b["kind"] == "excess":
        basis = core.ExcessIncome(
            a.years(b["total_income"], f"{key}.total_income"),
            [
                core.Contribution(c["name"], a.years(c["returns"], f"{key}.contributions[{j}].returns"))
                for j, c in enumerate(b["contributions"])
            ],
        )
    else:
        basis = core.IncrementalIncome(
            a.years(b["with_asset"], f"{key}.with_asset"), a.years(b["without_asset"], f"{key}.without_asset")
        )
    data = core.IncomeInput(
        basis=basis,
        discount_rate=a.figure(raw["discount_rate"], "income.discount_rate"),
        years=a.figure(raw["years"], "income.years"),
        contract_term_years=a.optional(raw.get("contract_term_years"), "income.contract_term_years"),
        update_cycle_years=a.optional(raw.get("update_cycle_years"), "income.update_cycle_years"),
        timeliness_years=a.optional(raw.get("timeliness_years"), "income.timeliness_years"),
    )
    return data, a.by_key


def market_input(raw: dict[str, Any]) -> tuple[core.MarketInput, dict[str, str]]:
    """The stored market input: each comparable carries its ``price`` figure (from the settled
    transaction) and the five factors."""
    a = _Attachments()
    comps = []
    for j, c in enumerate(raw["comparables"]):
        k = f"market.comparables[{j}]"
        factors = {attr: a.figure(c[attr], f"{k}.{code}") for attr, code in FACTOR_KEYS}
        comps.append(
            core.Comparable(
                name=c["name"],
                price=a.figure(c["price"], f"{k}.price"),
                transaction_ref=c.get("transaction_ref"),
                **factors,
            )  # fmt: skip
        )
    weights = raw.get("weights")
    ws = None if weights is None else [a.figure(w, f"market.weights[{j}]") for j, w in enumerate(weights)]
    return core.MarketInput(comps, ws), a.by_key


def compute(method: str, raw: dict[str, Any]) -> tuple[core.MethodResult, dict[str, str]]:
    """The method's result from its stored input (``InvalidAppraisal`` when out of range)."""
    if method == "cost":
        cost, att = cost_input(raw)
        return core.cost_method(cost), att
    if method == "income":
        income, att = income_input(raw)
        return core.income_method(income), att
    market, att = market_input(raw)
    return core.market_method(market), att


def inputs_json(inputs: Sequence[core.EvidencedInput], attachments: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "key": i.key,
            "label": i.label,
            "value": str(i.value),
            "display": i.display,
            "evidence": i.evidence,
            "attachment": attachments.get(i.key),
        }  # fmt: skip
        for i in inputs
    ]


def result_json(result: core.MethodResult, attachments: dict[str, str]) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    if isinstance(result, core.CostResult):
        facts = {
            "replacement_cost_fen": result.replacement_cost_fen, "delta": exact(result.delta),
            "delta_display": decimal_text(result.delta), "delta_source": result.delta_source,
        }  # fmt: skip
    elif isinstance(result, core.IncomeResult):
        facts = {
            "yearly_income_fen": [exact(f) for f in result.yearly_income_fen],
            "present_values_fen": [exact(p) for p in result.present_values_fen],
            "discount_rate": str(result.discount_rate), "years": result.years,
        }  # fmt: skip
    elif isinstance(result, core.MarketResult):
        facts = {
            "adjusted_prices_fen": [exact(p) for p in result.adjusted_prices_fen],
            "weights": [exact(w) for w in result.weights],
        }
    return {
        "method": result.method, "title": result.title, "value_fen": result.value_fen,
        "exact_value_fen": exact(result.exact_value_fen), "inputs": inputs_json(result.inputs, attachments),
        "trace": list(result.trace), "warnings": list(result.warnings), "facts": facts,
    }  # fmt: skip


def reconciliation_json(rec: core.Reconciliation, attachments: dict[str, str]) -> dict[str, Any]:
    return {
        "value_fen": rec.value_fen, "exact_value_fen": exact(rec.exact_value_fen),
        "weights": {r.method: exact(w) for r, w in zip(rec.results, rec.weights, strict=True)},
        "conclusion_method": rec.conclusion_method, "spread_ratio": exact(rec.spread_ratio),
        "spread_display": decimal_text(rec.spread_ratio), "spread_note": rec.spread_note,
        "inputs": inputs_json(rec.inputs, attachments), "trace": list(rec.trace),
    }  # fmt: skip
