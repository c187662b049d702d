"""Trusts as they are created and shown, distributions as read back, and the fixed lists with their
Chinese labels. Amounts and share terms are strict ints: nothing coerces a float or a string; the
service checks ranges and sums and names every problem in Chinese."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt

# 信托业务三分类 (2023): where a data trust fits
PURPOSES = {
    "asset_service": "资产服务信托",
    "asset_management": "资产管理信托",
    "charity": "公益慈善信托",
}
STATES = {"draft": "草稿", "active": "存续", "ended": "已终止"}
# organisation kinds that may act as trustee (licensed trust companies; see docs/trusts.md)
TRUSTEE_KINDS = ("trust_company", "bank")
MAX_BENEFICIARIES = 100
MAX_ASSETS = 100
MAX_FEE_RATE_BP = 10_000

Purpose = Literal["asset_service", "asset_management", "charity"]


# an organisation's id: a PostgreSQL INTEGER (a larger number is refused here, not by the database)
OrgId = Annotated[StrictInt, Field(ge=1, le=2**31 - 1)]


class BeneficiaryIn(BaseModel):
    """A beneficiary organisation and its share ``numerator / denominator``; ``remainder``: this
    beneficiary takes the fen that rounding leaves (exactly one beneficiary)."""

    organisation_id: OrgId
    numerator: StrictInt
    denominator: StrictInt
    remainder: StrictBool = False


class TrustIn(BaseModel):
    code: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    settlor_org_id: OrgId
    trustee_org_id: OrgId
    purpose: Purpose
    fee_rate_bp: StrictInt | None = None  # basis points of the gross, 0–10000
    fee_fixed_fen: StrictInt | None = None  # fen per distribution (capped at the gross)
    term_start: date
    term_end: date
    beneficiaries: list[BeneficiaryIn]
    assets: list[str]  # registration codes (登记编号)


class TerminateIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class BeneficiaryRead(BaseModel):
    organisation_id: int
    organisation: str
    numerator: int
    denominator: int
    share: str  # "1/3"
    remainder: bool


class TrustRead(BaseModel):
    id: int
    code: str
    title: str
    description: str
    settlor_org_id: int
    settlor: str
    trustee_org_id: int
    trustee: str
    purpose: str
    purpose_label: str
    fee_rate_bp: int | None
    fee_fixed_fen: int | None
    term_start: date
    term_end: date
    state: str
    state_label: str
    version: int
    ledger_account_code: str | None
    beneficiaries: list[BeneficiaryRead]
    assets: list[str]
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    approved_by: int | None
    approved_at: datetime | None
    ended_at: datetime | None
    end_reason: str


class DistributionPart(BaseModel):
    organisation_id: int
    amount_fen: int
    remainder: bool


class DistributionRead(BaseModel):
    id: int
    trust_id: int
    reference: str
    gross_fen: int
    fee_fen: int
    net_fen: int  # gross − fee: what the beneficiaries share
    parts: list[DistributionPart]
    ledger_entry_id: int | None
    distributed_on: date
    distributed_by: int | None
    distributed_at: datetime
