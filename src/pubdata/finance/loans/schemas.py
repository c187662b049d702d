"""Loan products and applications as the API and the portal show them, with the fixed lists and
their Chinese labels."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

CATEGORIES = {"tech": "科技金融", "inclusive": "普惠金融"}
GUARANTEES = {"credit": "信用", "guarantee": "保证", "mortgage": "抵押", "pledge": "质押"}
PRODUCT_STATES = {"draft": "草稿", "published": "已发布", "withdrawn": "已下架"}
STATES = {
    "received": "已受理", "reviewing": "审查中", "approved": "已批准", "declined": "已拒绝",
    "disbursed": "已放款", "repaid": "已结清", "defaulted": "已违约", "withdrawn": "已撤回",
}  # fmt: skip
# The bank's steps: action → (states it may follow, the state it leads to)
BANK_STEPS: dict[str, tuple[tuple[str, ...], str]] = {
    "review": (("received",), "reviewing"),
    "approve": (("received", "reviewing"), "approved"),
    "decline": (("received", "reviewing"), "declined"),
    "disburse": (("approved",), "disbursed"),
    "repaid": (("disbursed",), "repaid"),
    "defaulted": (("disbursed",), "defaulted"),
}
ENTERPRISE_WITHDRAWS_FROM = ("received", "reviewing")
OPEN_STATES = ("received", "reviewing", "approved")

MAX_AMOUNT = 10_000_000_000  # 100亿元: beyond any product a city channel carries
MAX_TERM_MONTHS = 360
MAX_RATE_BP = 3600  # 36%: the ceiling of rates the courts protect

Category = Literal["tech", "inclusive"]
Guarantee = Literal["credit", "guarantee", "mortgage", "pledge"]
BankAction = Literal["review", "approve", "decline", "disburse", "repaid", "defaulted"]


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    category: Category
    amount_min: int = Field(ge=1, le=MAX_AMOUNT, description="元")
    amount_max: int = Field(ge=1, le=MAX_AMOUNT, description="元")
    term_min_months: int = Field(ge=1, le=MAX_TERM_MONTHS)
    term_max_months: int = Field(ge=1, le=MAX_TERM_MONTHS)
    rate_min_bp: int = Field(ge=1, le=MAX_RATE_BP, description="Annual rate in basis points (345 = 3.45%)")
    rate_max_bp: int = Field(ge=1, le=MAX_RATE_BP)
    guarantee: Guarantee
    eligibility: str = Field(min_length=1, max_length=2000, description="A condition in the rules language")
    sections: list[str] = Field(min_length=1, description="Credit-report sections the bank needs consent to read")

    @model_validator(mode="after")
    def _ranges(self) -> ProductIn:
        for low, high, what in (
            (self.amount_min, self.amount_max, "贷款金额"),
            (self.term_min_months, self.term_max_months, "贷款期限"),
            (self.rate_min_bp, self.rate_max_bp, "年利率"),
        ):
            if low > high:
                raise ValueError(f"{what}的下限高于上限")
        return self


class ProductRead(BaseModel):
    id: int
    bank_code: str
    bank: str
    code: str
    name: str
    description: str
    category: str
    category_label: str
    amount_min: int
    amount_max: int
    term_min_months: int
    term_max_months: int
    rate_min_bp: int
    rate_max_bp: int
    guarantee: str
    guarantee_label: str
    eligibility: str
    sections: list[str]
    state: str
    version: int
    updated_at: datetime


class ProductMatch(BaseModel):
    """A product against one enterprise: eligible (true/false/null when facts are missing), the
    trace in Chinese, and what is missing."""

    product: ProductRead
    eligible: bool | None
    reasons: list[str]
    missing: list[str]
    missing_titles: list[str]


class ApplicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: int = Field(ge=1, le=2**31 - 1)
    consent_id: int = Field(ge=1, le=2**31 - 1, description="A live consent to the product's bank")
    amount: int = Field(ge=1, le=MAX_AMOUNT, description="元")
    term_months: int = Field(ge=1, le=MAX_TERM_MONTHS)
    purpose: str = Field(min_length=2, max_length=2000)


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: BankAction
    note: str = Field(default="", max_length=2000)
    amount: int | None = Field(default=None, ge=1, le=MAX_AMOUNT, description="approve: the amount granted (元)")
    rate_bp: int | None = Field(default=None, ge=1, le=MAX_RATE_BP, description="approve: annual rate, basis points")
    term_months: int | None = Field(default=None, ge=1, le=MAX_TERM_MONTHS, description="approve: the term")
    on: date | None = Field(default=None, description="disburse/repaid/defaulted: the day it happened (default today)")


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    from_state: str | None
    to_state: str
    note: str


class ApplicationRead(BaseModel):
    id: int
    product_id: int
    product: str
    bank: str
    uscc: str
    enterprise: str
    consent_id: int
    amount: int
    term_months: int
    purpose: str
    state: str
    state_label: str
    eligibility: dict[str, Any]
    district: str | None
    industry: str | None
    tier: str | None
    grade: str | None
    approved_amount: int | None
    approved_rate_bp: int | None
    approved_term_months: int | None
    decline_reason: str
    disbursed_on: date | None
    closed_on: date | None
    created_at: datetime
    events: list[EventRead]
