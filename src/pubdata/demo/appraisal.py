"""The demo city's appraisal report (数据资产评估报告): the demo appraisal agency (天和评估, user
``appraiser``) appraises one registered data asset by the cost method (δ from the asset's measured
quality report, or from its remaining economic life when the appraiser cannot read one), the income
method (a share of the holder's income) and, when the platform has settled transactions, the
market method over up to three of them; reconciles the methods with stated weights, classifies the
asset under 财会〔2023〕11号 and signs, so the agency's, the holder's and the oversight roles' report
pages have something to show. Built through the same service the API and the portal call;
idempotent: a signed demo report over the asset is reused (a draft left behind is completed)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from pubdata.access.service import beijing_today
from pubdata.assets.appraisal import InvalidAppraisal
from pubdata.assets.registry import service as registry
from pubdata.assets.registry.errors import RegistrationNotFound
from pubdata.assets.valuation import service as appraisals
from pubdata.assets.valuation.errors import NoQualityReport
from pubdata.assets.valuation.schemas import AppraisalIn, ClassifyIn, CostIn, IncomeIn, MarketIn, ReconcileIn
from pubdata.authz import SYSTEM, Actor
from pubdata.market import transactions

TITLE = "数据资产价值评估报告（入表）"
PURPOSE_NOTE = "为数据资源入表（财会〔2023〕11号）提供价值参考；评估对象为已登记的数据资源。"
MAX_COMPARABLES = 3


def _fig(value: Any, evidence: str, attachment: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"value": value, "evidence": evidence}
    if attachment:
        out["attachment"] = attachment
    return out


# the replacement cost in fen, each with its evidence (the agency's working papers)
COMPONENTS = {
    "planning": _fig(8_000_000, "数据资源规划咨询合同及验收单", "TH-2026-017-01"),
    "collection": _fig(35_000_000, "数据采集外包合同、发票（三年合计）", "TH-2026-017-02"),
    "cleaning": _fig(12_000_000, "数据治理工时记录 × 人工成本标准"),
    "storage": _fig(6_500_000, "政务云存储账单（2024—2026）"),
    "development": _fig(15_000_000, "接口开发合同及结算单", "TH-2026-017-03"),
    "operation": _fig(9_000_000, "运维服务合同（按年分摊）"),
    "indirect": _fig(4_500_000, "共享软硬件及管理费用分摊表"),
    "taxes": _fig(2_100_000, "相关税费计算表"),
}
ECONOMIC_LIFE = {
    "kind": "economic_life",
    "used_years": _fig("2", "数据资源建成于两年前（登记材料）"),
    "remaining_years": _fig("3", "更新机制与使用场景评估：预计仍可使用 3 年"),
}
# the holder's income attributable to data services over three years (fen) and the share K
TOTAL_INCOME = [
    _fig(120_000_000, "持有方 2026 年数据服务收入预测（经审阅的经营计划）"),
    _fig(135_000_000, "持有方 2027 年数据服务收入预测"),
    _fig(150_000_000, "持有方 2028 年数据服务收入预测"),
]
INCOME = {
    "basis": {"kind": "share", "total_income": TOTAL_INCOME,
              "share": _fig("0.25", "数据要素贡献分成率：层次分析法打分表")},
    "discount_rate": _fig("0.12", "无风险利率 + 数据资产风险溢价（WACC 测算表）"),
    "years": _fig("3", "授权运营协议剩余期限"),
    "contract_term_years": _fig("3", "公共数据授权运营协议（剩余 3 年）"),
    "update_cycle_years": _fig("5", "数据更新机制说明"),
}  # fmt: skip
# per comparable: X1 quality, X2 supply–demand, X3 date, X4 capacity, X5 other
FACTORS = ("1.05", "1.00", "1.02", "0.90", "1.00")
FACTOR_EVIDENCE = "可比交易调整表：质量评分比、供求状况、期日价格指数、数据规模比、权利限制"


def _asset_in_force(session: Session, code: str) -> bool:
    try:
        cert = registry.certificate(session, SYSTEM, code)
    except RegistrationNotFound:
        return False
    return cert.status == "valid" and cert.kind in appraisals.ASSET_KINDS


def _settled(session: Session, on_or_before: date) -> list[transactions.SettledTransaction]:
    """Up to three of the platform's latest settled transactions up to the valuation date."""
    rows = [t for t in transactions.settled_transactions(session) if t.settled_on <= on_or_before]
    return rows[:MAX_COMPARABLES]


def apply(session: Session, actors: dict[str, Actor], registration_code: str) -> str | None:
    """One signed report by the demo appraiser (``actors["appraiser"]``) over ``registration_code``;
    its code, or None when the asset is not a registration in force."""
    appraiser = actors["appraiser"]
    code = registration_code.strip().upper()
    existing = [a for a in appraisals.list_appraisals(session, appraiser, registration_code=code) if a.title == TITLE]
    done = next((a for a in existing if a.state == "signed"), None)
    if done is not None:
        return done.code
    if not _asset_in_force(session, code):
        return None
    draft = next((a for a in existing if a.state == "draft"), None)
    if draft is None:
        header = AppraisalIn(
            registration_code=code, title=TITLE, purpose="accounting", purpose_note=PURPOSE_NOTE,
            valuation_date=beijing_today(),
            appraisers=[appraiser.username] if appraiser.username else [],
        )  # fmt: skip
        draft_code = appraisals.create_appraisal(session, appraiser, header).code
    else:
        draft_code = draft.code
    report = appraisals.get_appraisal(session, appraiser, draft_code)

    try:
        appraisals.record_cost(
            session,
            appraiser,
            draft_code,
            CostIn.model_validate({**COMPONENTS, "adjustment": {"kind": "quality_report"}}),
        )
    except NoQualityReport:
        appraisals.record_cost(
            session, appraiser, draft_code, CostIn.model_validate({**COMPONENTS, "adjustment": ECONOMIC_LIFE})
        )
    appraisals.record_income(session, appraiser, draft_code, IncomeIn.model_validate(INCOME))
    comparables = _settled(session, report.valuation_date)
    methods = ["cost", "income"]
    if comparables:
        market = MarketIn.model_validate(
            {
                "comparables": [
                    {"transaction_ref": t.reference, **{attr: _fig(x, FACTOR_EVIDENCE) for attr, x in zip(
                        ("quality", "supply_demand", "date", "capacity", "other"), FACTORS, strict=True)}}
                    for t in comparables
                ]
            }
        )  # fmt: skip
        try:
            appraisals.record_market(session, appraiser, draft_code, market, transactions=transactions.get_transaction)
            methods.append("market")
        except InvalidAppraisal:
            pass
    weights = (
        {"cost": "0.3", "income": "0.5", "market": "0.2"} if len(methods) == 3 else {"cost": "0.4", "income": "0.6"}
    )
    reasons = {
        "cost": "成本资料完整可靠，但不反映数据的收益能力",
        "income": "授权运营协议约定了收益分成，收益预测依据较充分",
        "market": "平台可比交易数量有限，作为参考",
    }
    appraisals.reconcile(
        session, appraiser, draft_code,
        ReconcileIn.model_validate({"weights": {m: _fig(weights[m], reasons[m]) for m in methods}}),
    )  # fmt: skip
    appraisals.classify(
        session, appraiser, draft_code,
        ClassifyIn(holding_purpose="services", expected_benefits_probable=True, cost_reliably_measurable=True,
                   controlled=True),
    )  # fmt: skip
    return appraisals.sign(session, appraiser, draft_code).code
