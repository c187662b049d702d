"""Builders for appraisal reports: a registered asset (the registry's own flow), an appraisal
agency with two appraisers, and the inputs of the three methods with hand-computed values."""

from __future__ import annotations

from datetime import timedelta

from pubdata.access.service import beijing_today
from pubdata.assets.registry.schemas import SourceIn
from pubdata.assets.valuation import service as appraisals
from pubdata.assets.valuation.schemas import AppraisalIn, ClassifyIn, CostIn, IncomeIn, ReconcileIn
from tests.assets.registry.test_registry import apply, registered
from tests.builders import make_org, make_user


def valuation_world(session, world, as_actor):
    """The department's registered table; agency A (two appraisers, ``appraiser`` and ``second``)
    and agency B; the holder, the operator and regulator (oversight), an enterprise (a stranger)."""
    w = dict(world)
    reg = registered(session, w, apply(session, w, "department", sources=[SourceIn(entry=w["entry"], basis="own")]).id)
    w["asset"] = reg.code
    w["holder"] = w["department"]
    w["agency_org"] = make_org(session, "appraisal_agency")
    w["appraiser"] = as_actor("appraiser", w["agency_org"])
    w["second"] = as_actor("appraiser", w["agency_org"])
    w["other_agency"] = as_actor("appraiser")
    w["operator"] = w["registrar"]
    w["regulator"] = as_actor("regulator")
    w["stranger"] = as_actor("enterprise")
    # an agency user whose account was deactivated
    w["former_user"] = make_user(session, w["agency_org"], roles=["appraiser"])
    w["former_user"].is_active = False
    return w


def header(w, **overrides) -> AppraisalIn:
    data = {
        "registration_code": w["asset"], "title": "各区金额数据资源价值评估", "purpose": "accounting",
        "purpose_note": "数据资产入表", "valuation_date": beijing_today() - timedelta(days=1),
        "appraisers": [w["appraiser"].username],
    }  # fmt: skip
    data.update(overrides)
    return AppraisalIn(**data)


def fig(value, evidence="测算底稿", attachment=None) -> dict:
    out = {"value": value, "evidence": evidence}
    if attachment is not None:
        out["attachment"] = attachment
    return out


# C = 1,000,000 fen, δ = 0.8 → P = 800,000 fen (docs/appraisal.md)
COST = {
    "adjustment": {"kind": "direct", "coefficient": fig("0.8", "专家评议会纪要 2026-11")},
    "planning": fig(100_000, "项目规划合同", "HT-2025-001"),
    "collection": fig(400_000, "采集外包发票"),
    "storage": fig(500_000, "云存储账单"),
}
# F = 100,000 / 120,000 / 150,000 元, i = 0.1 → 30,277,986 fen (docs/appraisal.md)
INCOME = {
    "basis": {"kind": "direct", "net_income": [fig(10_000_000, "2026 年预测"), fig(12_000_000, "2027 年预测"),
                                               fig(15_000_000, "2028 年预测")]},
    "discount_rate": fig("0.1", "WACC 测算表"),
    "years": fig(3, "合同剩余期限"),
    "contract_term_years": fig(3, "授权运营协议"),
}  # fmt: skip


def cost_in(**overrides) -> CostIn:
    return CostIn.model_validate({**COST, **overrides})


def income_in(**overrides) -> IncomeIn:
    return IncomeIn.model_validate({**INCOME, **overrides})


CLASSIFY = ClassifyIn(
    holding_purpose="own_use", expected_benefits_probable=True, cost_reliably_measurable=True, controlled=True
)


def signed(session, w, actor=None):
    """A report taken through cost and income, weighted 0.5 / 0.5, classified and signed."""
    actor = actor or w["appraiser"]
    a = appraisals.create_appraisal(session, actor, header(w))
    appraisals.record_cost(session, actor, a.code, cost_in())
    appraisals.record_income(session, actor, a.code, income_in())
    weights = {"cost": fig("0.5", "两法并重"), "income": fig("0.5", "两法并重")}
    appraisals.reconcile(session, actor, a.code, ReconcileIn.model_validate({"weights": weights}))
    appraisals.classify(session, actor, a.code, CLASSIFY)
    return appraisals.sign(session, actor, a.code)
