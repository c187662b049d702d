"""Appraisal reports as they are entered and shown, and the fixed lists with their Chinese labels.

Every figure is a ``FigureIn``: its value (integer fen for money — a JSON integer; a rate,
coefficient, score, weight or number of years as a JSON integer or a decimal string such as
``"0.08"``; never a JSON float, so every result can be reproduced exactly), its evidence (the source
document or calculation note, required) and an optional attachment reference (a document number or
a link to the evidence file). The service checks ranges and names every problem in Chinese."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

PURPOSES = {
    "transaction": "数据交易定价参考",
    "financing": "数据资产融资（质押、增信）",
    "accounting": "财务报告（数据资产入表）",
    "investment": "出资入股",
    "trust": "数据信托设立",
    "other": "其他",
}
STATES = {"draft": "草稿", "signed": "已签署", "withdrawn": "已撤回"}
METHODS = {"cost": "成本法", "income": "收益法", "market": "市场法"}
FORMULAS = {
    "cost": "P = C × δ",
    "income": "P = Σₜ₌₁ⁿ Fₜ / (1 + i)ᵗ",
    "market": "Pᵢ = Qᵢ × X1 × X2 × X3 × X4 × X5；P = 各 Pᵢ 的平均或加权和",
}
HOLDING_PURPOSES = {
    "own_use": "企业内部使用（用于生产经营、管理）",
    "services": "利用数据资源对客户提供服务",
    "sale": "日常活动中持有、最终目的用于出售",
}
ADJUSTMENTS = {
    "direct": "直接给定",
    "quality": "按质量评价维度加权",
    "quality_report": "由资产的质量评价报告得出",
    "economic_life": "剩余经济寿命法",
}
INCOME_BASES = {"direct": "直接收益", "share": "收益分成", "excess": "超额收益", "incremental": "增量收益"}
MAX_APPRAISERS = 10
MAX_YEARS = 50
MAX_COMPARABLES = 30
MAX_EVIDENCE = 2000

Purpose = Literal["transaction", "financing", "accounting", "investment", "trust", "other"]
Method = Literal["cost", "income", "market"]
HoldingPurpose = Literal["own_use", "services", "sale"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Bounds that keep every figure and result far inside a 64-bit column and exact arithmetic cheap:
# money up to 10^15 fen (10 trillion 元) per figure; a decimal is plain digits (no exponent).
MAX_FIGURE = 10**15
MAX_VALUE_FEN = 10**17
DECIMAL_PATTERN = r"^\s*-?\d{1,15}(\.\d{1,12})?\s*$"
FigureInt = Annotated[StrictInt, Field(ge=-MAX_FIGURE, le=MAX_FIGURE)]
FigureDecimal = Annotated[StrictStr, Field(max_length=40, pattern=DECIMAL_PATTERN)]


class FigureIn(_In):
    """One figure and its evidence."""

    value: FigureInt | FigureDecimal = Field(
        description="Integer fen for money (|value| ≤ 10^15); otherwise an integer or a plain decimal string"
    )
    evidence: str = Field(max_length=MAX_EVIDENCE, description="Source document or calculation note (required)")
    attachment: str | None = Field(default=None, max_length=500, description="Evidence document number or link")


# --- the header ---------------------------------------------------------------------------------


class AppraisalIn(_In):
    """A report's header: the registered asset (by its registration code), purpose, valuation date
    (评估基准日) and the appraisers (users of the agency, by username); ``previous_code`` names the report this one
    re-appraises."""

    registration_code: str = Field(min_length=1, max_length=32)
    title: str = Field(min_length=1, max_length=200)
    purpose: Purpose
    purpose_note: str = Field(default="", max_length=4000)
    valuation_date: date
    # usernames of the agency's appraisers (default: the caller)
    appraisers: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=MAX_APPRAISERS)
    previous_code: str | None = Field(default=None, max_length=32)


# --- the cost method ----------------------------------------------------------------------------


class DirectAdjustmentIn(_In):
    kind: Literal["direct"]
    coefficient: FigureIn


class QualityDimensionIn(_In):
    name: str = Field(min_length=1, max_length=50)
    score: FigureIn  # in [0, 1]
    weight: FigureIn  # in (0, 1], the weights summing to exactly one


class QualityAdjustmentIn(_In):
    kind: Literal["quality"]
    dimensions: list[QualityDimensionIn] = Field(max_length=20)
    report_ref: str | None = Field(default=None, max_length=200)


class QualityReportAdjustmentIn(_In):
    """δ from the asset's measured quality report (its current version): the service reads the
    report's dimension scores and weights and stores them as the evidence."""

    kind: Literal["quality_report"]


class EconomicLifeAdjustmentIn(_In):
    kind: Literal["economic_life"]
    used_years: FigureIn
    remaining_years: FigureIn


Adjustment = Annotated[
    DirectAdjustmentIn | QualityAdjustmentIn | QualityReportAdjustmentIn | EconomicLifeAdjustmentIn,
    Field(discriminator="kind"),
]


class CostIn(_In):
    """成本法 P = C × δ: the components of the replacement cost C (fen ≥ 0, those not incurred left
    out) and the value-adjustment coefficient δ."""

    adjustment: Adjustment
    planning: FigureIn | None = None
    collection: FigureIn | None = None
    cleaning: FigureIn | None = None
    labelling: FigureIn | None = None
    storage: FigureIn | None = None
    development: FigureIn | None = None
    operation: FigureIn | None = None
    indirect: FigureIn | None = None
    opportunity: FigureIn | None = None
    taxes: FigureIn | None = None


# --- the income method --------------------------------------------------------------------------

Years = Annotated[list[FigureIn], Field(max_length=MAX_YEARS)]


class DirectIncomeIn(_In):
    kind: Literal["direct"]
    net_income: Years


class ShareIncomeIn(_In):
    kind: Literal["share"]
    total_income: Years
    share: FigureIn


class ContributionIn(_In):
    name: str = Field(min_length=1, max_length=100)
    returns: Years


class ExcessIncomeIn(_In):
    kind: Literal["excess"]
    total_income: Years
    contributions: list[ContributionIn] = Field(max_length=10)


class IncrementalIncomeIn(_In):
    kind: Literal["incremental"]
    with_asset: Years
    without_asset: Years


IncomeBasis = Annotated[
    DirectIncomeIn | ShareIncomeIn | ExcessIncomeIn | IncrementalIncomeIn, Field(discriminator="kind")
]


class IncomeIn(_In):
    """收益法 P = Σ Fₜ / (1 + i)ᵗ: the basis of Fₜ, the discount rate i, the horizon n and the limits
    n may not exceed (contract term, update cycle, timeliness, in years)."""

    basis: IncomeBasis
    discount_rate: FigureIn
    years: FigureIn
    contract_term_years: FigureIn | None = None
    update_cycle_years: FigureIn | None = None
    timeliness_years: FigureIn | None = None


# --- the market method --------------------------------------------------------------------------


class ComparableIn(_In):
    """One comparable: a settled transaction of the platform (its ``transaction_ref``; its amount is
    the price Q) and the five correction factors, each > 0."""

    transaction_ref: str = Field(min_length=1, max_length=128)
    name: str | None = Field(default=None, max_length=100)
    quality: FigureIn  # X1
    supply_demand: FigureIn  # X2
    date: FigureIn  # X3
    capacity: FigureIn  # X4
    other: FigureIn  # X5


class MarketIn(_In):
    """市场法: the comparables and, optionally, their weights (one each, summing to exactly one;
    otherwise the simple mean)."""

    comparables: list[ComparableIn] = Field(max_length=MAX_COMPARABLES)
    weights: list[FigureIn] | None = Field(default=None, max_length=MAX_COMPARABLES)


# --- the conclusion -----------------------------------------------------------------------------


class ReconcileIn(_In):
    """评估结论: either a weight per computed method (each in [0, 1], summing to exactly one, its
    evidence the reason for it) or the one method adopted and why."""

    weights: dict[Method, FigureIn] | None = None
    conclusion_method: Method | None = None
    reason: str | None = Field(default=None, max_length=4000)


class ClassifyIn(_In):
    """How the asset would be presented under 财会〔2023〕11号."""

    holding_purpose: HoldingPurpose
    expected_benefits_probable: StrictBool
    cost_reliably_measurable: StrictBool
    controlled: StrictBool


class WithdrawIn(_In):
    reason: str = Field(min_length=1, max_length=2000)


# --- reading ------------------------------------------------------------------------------------


class InputRead(BaseModel):
    """One input as used by the calculation: its field path, Chinese label, value, evidence and
    attachment reference."""

    key: str
    label: str
    value: str
    display: str
    evidence: str
    attachment: str | None = None


class MethodRead(BaseModel):
    method: str
    title: str
    formula: str
    value_fen: int
    exact_value_fen: str  # the exact Fraction "numerator/denominator" (or an integer)
    inputs: list[InputRead]
    trace: list[str]
    warnings: list[str]
    facts: dict[str, Any]  # per method: C and δ; the yearly Fₜ and present values; the adjusted prices


class ReconciliationRead(BaseModel):
    value_fen: int
    weights: dict[str, str]  # per method, exact
    conclusion_method: str | None
    conclusion_method_label: str | None
    reason: str | None
    spread_ratio: str
    spread_note: str | None
    inputs: list[InputRead]
    trace: list[str]


class ClassificationRead(BaseModel):
    holding_purpose: str
    holding_purpose_label: str
    expected_benefits_probable: bool
    cost_reliably_measurable: bool
    controlled: bool
    category: str
    standard: str
    reason: str


class AppraiserRead(BaseModel):
    user_id: int
    username: str
    name: str


class AppraisalSummary(BaseModel):
    code: str
    title: str
    registration_code: str
    asset_title: str
    agency_org_id: int
    agency: str
    holder_org_id: int
    holder: str
    purpose: str
    purpose_label: str
    valuation_date: date
    state: str
    state_label: str
    concluded_value_fen: int | None
    classification_category: str | None
    signed_at: datetime | None


class AppraisalRead(AppraisalSummary):
    id: int
    version: int
    purpose_note: str
    previous_code: str | None
    appraisers: list[AppraiserRead]
    cost_input: dict[str, Any] | None
    income_input: dict[str, Any] | None
    market_input: dict[str, Any] | None
    methods: list[MethodRead]  # in the order cost, income, market; only those computed
    reconciliation: ReconciliationRead | None
    classification: ClassificationRead | None
    content_hash: str | None
    content_intact: bool | None  # the signed content still hashes to content_hash (None for a draft)
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    signed_by: int | None
    signed_by_name: str | None
    withdrawn_at: datetime | None
    withdraw_reason: str
    can_edit: bool  # the caller's agency may edit (a draft) or withdraw (signed)


class QualityProposal(BaseModel):
    """The asset's current quality report as the δ of the cost method would use it."""

    resource_id: str
    version: int | None
    measured_at: str | None
    dimensions: list[dict[str, str]]  # {name, score, weight, evidence}
    delta: str | None
    report_ref: str
