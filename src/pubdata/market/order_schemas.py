"""Orders, entitlements, bills, payments, refunds and settlement runs as the API and portal take and
show them, with their states' Chinese labels. Money fields are ``Whole`` (see ``schemas``): the
domain refuses a float, a string or a bool rather than coercing it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from pubdata.market.schemas import Whole, WholeOrNull

ORDER_STATES = {
    "pending_approval": "待审核用途",
    "awaiting_payment": "待付款",
    "active": "使用中",
    "ended": "已到期",
    "rejected": "未通过",
    "cancelled": "已取消",
}
ENTITLEMENT_STATES = {"active": "有效", "ended": "已到期", "cancelled": "已终止"}
BILL_KINDS = {"order": "订单价款", "usage": "月度用量"}
BILL_STATES = {"unpaid": "待付款", "paid": "已付款", "void": "已作废"}
PAYMENT_STATES = {"submitted": "待确认", "confirmed": "已确认", "rejected": "已退回"}
MAX_MONTHS = 36
DEFAULT_MONTHS = 12


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product: str = Field(min_length=1, max_length=64, description="产品代码或编号")
    plan: str = Field(min_length=1, max_length=64, description="价格计划代码")
    declared_use: str = Field(default="", max_length=2000, description="申报的用途（需审核的产品、公益免费计划必填）")
    public_interest: StrictBool = Field(default=False, description="声明为公益用途（公益免费计划须为 true）")
    months: WholeOrNull = Field(default=None, description="使用期（月）；订阅计划为其订阅期，其余默认 12")


class OrderReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: StrictBool
    reason: str = Field(default="", max_length=2000)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=2000)


class PaymentIn(BaseModel):
    """A 对公转账 voucher: the bank's transaction number, the amount, who paid from which account."""

    model_config = ConfigDict(extra="forbid")

    provider: str = Field(default="bank_transfer", max_length=32)
    reference: str = Field(min_length=4, max_length=64, description="银行交易流水号")
    amount_fen: Whole
    payer_name: str = Field(min_length=1, max_length=200)
    payer_account: str = Field(default="", max_length=64)
    paid_on: date


class PaymentDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirm: StrictBool
    reason: str = Field(default="", max_length=2000)


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str = Field(min_length=4, max_length=64, description="退款流水号（幂等键）")
    amount_fen: Whole
    reason: str = Field(min_length=1, max_length=2000)


class SettleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: str = Field(pattern=r"^(19|2\d)\d{2}-(0[1-9]|1[0-2])$", description="结算月份 YYYY-MM（须已结束）")


class PaymentRead(BaseModel):
    id: int
    bill_id: int
    bill_code: str
    provider: str
    reference: str
    amount_fen: int
    payer_name: str
    payer_account: str
    paid_on: date
    state: str
    state_label: str
    submitted_at: datetime
    decided_at: datetime | None
    reason: str


class BillRead(BaseModel):
    id: int
    code: str
    kind: str
    kind_label: str
    order_id: int
    order_code: str
    month: str | None
    product_id: int
    product_title: str
    buyer_name: str
    buyer_uscc: str | None
    amount_fen: int
    refunded_fen: int
    calls: int
    rows: int
    lines: list[dict[str, Any]]
    state: str
    state_label: str
    invoice_no: str | None
    issued_at: datetime
    paid_at: datetime | None
    settled: bool
    payments: list[PaymentRead] = []


class EntitlementRead(BaseModel):
    id: int
    order_id: int
    product_id: int
    grant_id: int | None
    starts_on: date
    ends_on: date
    state: str
    state_label: str
    calls_today: int = 0
    daily_call_quota: int | None = None
    calls_this_month: int = 0
    free_quota: int | None = None


class OrderRead(BaseModel):
    id: int
    code: str
    product_id: int
    product_code: str
    product_title: str
    product_kind: str
    plan_code: str
    plan_title: str
    plan_kind: str
    buyer_org_id: int
    buyer_name: str
    buyer_uscc: str | None
    provider_org_id: int
    declared_use: str
    state: str
    state_label: str
    amount_fen: int
    months: int
    review_reason: str
    created_at: datetime
    entitlement: EntitlementRead | None = None
    bills: list[BillRead] = []


class ShareRead(BaseModel):
    product_id: int
    product_title: str
    scenario: str
    party: str
    party_label: str
    organisation_id: int | None
    account_code: str
    amount_fen: int


class SettlementRead(BaseModel):
    id: int
    month: str
    gross_fen: int
    usage_bills: int
    run_at: datetime
    shares: list[ShareRead] = []
