"""Products, listings and price plans as the API and the portal take and show them, with the fixed
lists and their Chinese labels.

Integer inputs that are money or counts (fen, quotas, calls, months) are declared ``Whole``: the
schema says integer, but nothing coerces them here — ``plans.check_plan`` and the service's contract
check refuse a float, a Decimal, a string or a bool in Chinese, naming the field, where a lax
Pydantic int would silently turn ``99.0`` or ``"99"`` into 99."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, WithJsonSchema

from pubdata.catalog.vocab import Scenario

KINDS = {
    "api": "数据接口",
    "dataset": "数据集交付",
    "sandbox": "隐私计算沙箱",
    "verification": "核验服务",
    "report": "数据报告",
}
STATES = {
    "draft": "草稿",
    "under_review": "审核中",
    "public_notice": "公示中",
    "listed": "已上架",
    "suspended": "已暂停",
    "delisted": "已下架",
}
PLAN_KINDS = {
    "free": "公益免费",
    "one_off": "一次性购买",
    "subscription": "按期订阅",
    "per_call": "按次计费",
    "tiered": "阶梯计价",
}
# Which plans fit which product (a dataset is delivered, so it is never metered per call, …)
PLAN_KINDS_BY_PRODUCT: dict[str, tuple[str, ...]] = {
    "api": ("subscription", "per_call", "tiered", "free"),
    "dataset": ("one_off", "subscription", "free"),
    "sandbox": ("subscription", "per_call", "free"),
    "verification": ("per_call", "tiered", "free"),
    "report": ("one_off", "free"),
}
# What a plan's ceiling is the most a buyer pays for
CEILING_PER = {"free": "order", "one_off": "order", "subscription": "term", "per_call": "month", "tiered": "month"}
CEILING_PER_LABELS = {"order": "每单", "term": "每期", "month": "每月"}

ProductKind = Literal["api", "dataset", "sandbox", "verification", "report"]
PlanKind = Literal["free", "one_off", "subscription", "per_call", "tiered"]

# an integer checked by the domain, not coerced by Pydantic (see the module's docstring)
Whole = Annotated[Any, WithJsonSchema({"type": "integer", "minimum": 0})]
WholeOrNull = Annotated[Any, WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}]})]

CODE_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
MAX_SAMPLE = 4000


class ContractIn(BaseModel):
    """The contract template a buyer's grant will be made from. api / dataset / sandbox: ``fields``
    (some of the table's), ``masks`` (field → rule), ``row_filter``, quotas; verification:
    ``key_field`` (what the buyer submits) and optionally ``predicate`` (what the matched row must
    satisfy); report: the ``fields`` it uses (may be none)."""

    model_config = ConfigDict(extra="forbid")

    fields: list[str] = Field(default_factory=list, max_length=1000)
    masks: dict[str, str] = Field(default_factory=dict)
    row_filter: str | None = Field(default=None, max_length=2000)
    daily_call_quota: WholeOrNull = None
    daily_row_quota: WholeOrNull = None
    rate_per_minute: WholeOrNull = None
    key_field: str | None = Field(default=None, max_length=200)
    predicate: str | None = Field(default=None, max_length=2000)


class ProductIn(BaseModel):
    """A product as its provider writes it (created, or replaced whole while a draft)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=CODE_PATTERN)
    kind: ProductKind
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    scenario: Scenario
    zone: str | None = Field(default=None, max_length=32, description="专区代码（如 finance、medical），可空")
    resource_id: str = Field(min_length=1, max_length=36, description="产品所依托的目录资源（数据表）")
    sample: str = Field(default="", max_length=MAX_SAMPLE, description="向买方展示的样例")
    update_frequency: str = Field(default="", max_length=100)
    coverage: str = Field(default="", max_length=500)
    licence: str = Field(default="", max_length=200)
    terms: str = Field(default="", max_length=8000)
    requires_approval: StrictBool = Field(default=False, description="买方申报的用途须经审核")
    contract: ContractIn = Field(default_factory=ContractIn)
    distribution: dict[str, Any] | None = Field(
        default=None, description="收益分配规则（见 docs/settlement.md）；空：本市默认规则"
    )


class TierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    up_to: WholeOrNull = Field(description="本档截至的当月累计调用次数；最后一档为 null（不封顶）")
    unit_price_fen: Whole


class PlanIn(BaseModel):
    """A price plan. Only the fields of its kind may be set: free (``public_interest_only`` true,
    nothing priced), one_off (``price_fen``), subscription (``price_fen`` per ``term_months``),
    per_call (``unit_price_fen``, ``free_quota``, ``monthly_cap_fen``), tiered (``tiers``,
    ``monthly_cap_fen``). Money is integer fen."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=CODE_PATTERN)
    title: str = Field(min_length=1, max_length=200)
    kind: PlanKind
    price_fen: WholeOrNull = None
    term_months: WholeOrNull = None
    unit_price_fen: WholeOrNull = None
    free_quota: WholeOrNull = None
    monthly_cap_fen: WholeOrNull = None
    tiers: list[TierIn] | None = Field(default=None, max_length=20)
    public_interest_only: StrictBool = False


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["approve", "reject"]
    reason: str = Field(default="", max_length=2000)
    notice_days: Whole = Field(default=7, description="公示天数（1–90）")


class Tier(BaseModel):
    up_to: int | None
    unit_price_fen: int


class PlanRead(BaseModel):
    id: int
    product_id: int
    code: str
    title: str
    kind: str
    kind_label: str
    price_fen: int | None
    term_months: int | None
    unit_price_fen: int | None
    free_quota: int | None
    monthly_cap_fen: int | None
    tiers: list[Tier] | None
    public_interest_only: bool
    active: bool
    ceiling_fen: int | None  # the most a buyer pays per ``ceiling_per``; None: uncapped
    ceiling_per: str
    ceiling_per_label: str
    updated_at: datetime


class ListingEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    from_state: str | None
    to_state: str
    actor_user_id: int | None
    reason: str
    version: int


class ProductRead(BaseModel):
    id: int
    code: str
    kind: str
    kind_label: str
    title: str
    description: str
    scenario: str
    scenario_label: str
    zone: str | None
    provider_org_id: int
    provider: str
    resource_id: str
    entry_id: int
    sample: str
    update_frequency: str
    coverage: str
    licence: str
    terms: str
    requires_approval: bool
    contract: dict[str, Any]
    distribution: dict[str, Any] | None = None
    state: str
    state_label: str
    notice_until: date | None
    version: int
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    plans: list[PlanRead]  # active plans; every plan for the provider and the operator
    events: list[ListingEventRead]  # the listing history, for the provider and the operator only


class PriceListItem(BaseModel):
    product_id: int
    code: str
    title: str
    kind: str
    kind_label: str
    scenario: str
    scenario_label: str
    zone: str | None
    provider_org_id: int
    provider: str
    plans: list[PlanRead]


class PriceList(BaseModel):
    """The public price list: every listed product with its active plans and their ceilings (the
    operators' yearly disclosure of products and fee ceilings)."""

    generated_at: datetime
    products: list[PriceListItem]
