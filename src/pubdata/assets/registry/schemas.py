"""Registrations as they are applied for and shown, the certificate's data and the verification
answer, with the fixed lists and their Chinese labels."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from pubdata.authz import Actor
from pubdata.catalog.vocab import Scenario

ID_MAX = 2**31 - 1  # a registration's id: a PostgreSQL INTEGER (a larger one was a 500 there, found by fuzzing)

KINDS = {
    "initial": "首次登记",
    "change": "变更登记",
    "correction": "更正登记",
    "transfer": "转移登记",
    "licence": "许可登记",
    "cancellation": "注销登记",
}
SUBJECTS = {"resource": "数据资源", "product": "数据产品"}
RIGHTS = {"holding": "数据资源持有权", "processing": "数据加工使用权", "operating": "数据产品经营权"}
BASES = {"own": "自有数据（本机构发布）", "open": "无条件开放数据", "grant": "有效的数据使用授权"}
CLASSIFICATIONS = {"general": "一般数据", "important": "重要数据", "core": "核心数据"}
STATES = {
    "submitted": "已申请",
    "accepted": "已受理",
    "returned": "退回补正",
    "rejected": "不予受理",
    "public_notice": "公示中",
    "refused": "不予登记",
    "registered": "已登记",
    "superseded": "已变更",
    "cancelled": "已注销",
}
OBJECTION_STATES = {"open": "待处理", "upheld": "异议成立", "dismissed": "异议不成立"}
VERIFY_STATUSES = {"valid": "有效", "superseded": "已变更（以后续登记为准）", "cancelled": "已注销"}

Kind = Literal["initial", "change", "correction"]
ChainKind = Literal["transfer", "licence", "cancellation"]
Right = Literal["holding", "processing", "operating"]


@dataclass(frozen=True)
class ProductFacts:
    """What the registry needs of a market product (the market sits above this domain, so whoever
    can see both — the API, the portal, the tests — looks the product up and passes these)."""

    id: int
    code: str
    title: str
    provider_org_id: int
    resource_id: str


# (session, actor, product id) → the product's facts; raises a NotFound when it does not exist
ProductLookup = Callable[[Session, Actor, int], ProductFacts]


class SourceIn(BaseModel):
    """A source entry and the legality of its source."""

    model_config = ConfigDict(extra="forbid")

    entry: str = Field(min_length=1, max_length=64, description="目录编码")
    basis: Literal["own", "open", "grant"]
    grant_id: int | None = Field(default=None, description="basis 为 grant 时：本机构有效的使用授权编号")


class RegistrationIn(BaseModel):
    """An application of kind initial (首次), change (变更) or correction (更正; the last two name
    ``previous_id``). ``resource_id`` is the table whose version is fingerprinted (for a product:
    the product's own table when omitted); ``version`` the table version (the current one when
    omitted); ``fingerprint`` the applicant's own computation, checked when given."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind = "initial"
    previous_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    subject: Literal["resource", "product"] = "resource"
    product_id: int | None = None
    resource_id: str | None = Field(default=None, max_length=36)
    version: int | None = None
    fingerprint: str | None = Field(default=None, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    holder_name: str = Field(min_length=1, max_length=200)
    holder_uscc: str = Field(min_length=1, max_length=18)
    rights: list[Right] = Field(max_length=3)
    sources: list[SourceIn] = Field(max_length=100)
    update_frequency: str = Field(default="", max_length=100)
    coverage: str = Field(default="", max_length=500)
    scenario: Scenario
    classification: Literal["general", "important", "core"]
    reason: str = Field(default="", max_length=2000)


class ChainIn(BaseModel):
    """A transfer (转移: to ``counterparty_org``, a platform organisation, which becomes the holder),
    a licence (许可: to ``counterparty_org`` for ``rights`` until ``licence_until``) or a
    cancellation (注销) of the registered ``previous_id``."""

    model_config = ConfigDict(extra="forbid")

    kind: ChainKind
    previous_id: int = Field(ge=1, le=ID_MAX)
    reason: str = Field(min_length=1, max_length=2000)
    counterparty_org: str | None = Field(default=None, max_length=64, description="受让方或被许可方的机构代码")
    counterparty_name: str | None = Field(default=None, max_length=200)
    counterparty_uscc: str | None = Field(default=None, max_length=18)
    rights: list[Right] | None = Field(default=None, max_length=3)
    licence_until: date | None = None


class FormalReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["pass", "return"]
    reason: str = Field(default="", max_length=2000)
    notice_days: int = Field(default=10, description="公示天数（1–90）")


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["uphold", "dismiss"]
    reason: str = Field(min_length=1, max_length=2000)


class SourceRead(BaseModel):
    entry: str
    title: str
    basis: str
    basis_label: str
    grant_id: int | None


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    from_state: str | None
    to_state: str
    action: str
    actor_user_id: int | None
    reason: str


class ObjectionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    registration_id: int
    text: str
    filed_at: datetime
    state: str
    state_label: str = ""
    resolution: str
    resolved_at: datetime | None


class ChainLink(BaseModel):
    id: int
    code: str | None
    kind: str
    kind_label: str
    state: str
    state_label: str
    registered_on: date | None
    holder_name: str


class RegistrationRead(BaseModel):
    id: int
    code: str | None
    kind: str
    kind_label: str
    state: str
    state_label: str
    previous_id: int | None
    root_id: int | None
    subject: str
    subject_label: str
    product_id: int | None
    title: str
    description: str
    holder_org_id: int
    holder_name: str
    holder_uscc: str
    counterparty_org_id: int | None
    counterparty_name: str | None
    counterparty_uscc: str | None
    licence_until: date | None
    rights: list[str]
    rights_labels: list[str]
    sources: list[SourceRead]
    resource_id: str
    entry_id: int
    version: int
    field_names: list[str]
    rows: int
    fingerprint: str
    update_frequency: str
    coverage: str
    scenario: str
    scenario_label: str
    classification: str
    classification_label: str
    reason: str
    notice_from: date | None
    notice_until: date | None
    registered_on: date | None
    created_at: datetime
    events: list[EventRead]  # the holder, the applicant and the registrar only
    objections: list[ObjectionRead]  # the holder, the applicant and the registrar only


class Certificate(BaseModel):
    """The certificate's data (登记证书): everything a page or a PDF shows, in display order."""

    code: str
    kind: str
    kind_label: str
    status: str  # valid | superseded | cancelled
    status_label: str
    title: str
    description: str
    subject: str
    subject_label: str
    product_id: int | None
    holder_name: str
    holder_uscc: str
    counterparty_name: str | None
    counterparty_uscc: str | None
    licence_until: date | None
    rights: list[str]
    rights_labels: list[str]
    sources: list[SourceRead]
    entry_code: str
    version: int
    field_names: list[str]
    rows: int
    update_frequency: str
    coverage: str
    scenario: str
    scenario_label: str
    classification: str
    classification_label: str
    fingerprint: str
    fingerprint_algorithm: str
    canonical_form: str
    notice_from: date | None
    notice_until: date | None
    objections_filed: int
    registered_on: date
    registrar: str
    chain: list[ChainLink]  # the chain's registered links, first to last
    verification_path: str


class Verification(BaseModel):
    """The public answer to "is this certificate genuine, and is this my data?"."""

    code: str
    status: str
    status_label: str
    certificate: Certificate
    fingerprint_given: str | None
    fingerprint_matches: bool | None  # None when no fingerprint was given
    checked_at: datetime

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
