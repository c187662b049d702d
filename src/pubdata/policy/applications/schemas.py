"""What the application workflow (政策通) takes and returns: applications with their facts side by
side, materials, history and disbursement; reviewer routing. Amounts are integer yuan."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ReviewerRead(BaseModel):
    duty: str
    duty_label: str
    district: str
    organisation_id: int
    organisation_code: str
    organisation_name: str
    updated_at: datetime


class ReviewerSet(BaseModel):
    organisation: str = Field(description="The reviewing department's organisation code (or id)")
    duty: str = Field(default="commerce", description="The pack's reviewer.department")


class ApplicationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: int | None = Field(
        default=None, ge=2000, le=2100, description="The year applied for; default the facts table's year"
    )
    claimed_facts: dict[str, Any] = Field(
        default_factory=dict,
        description="Facts as the enterprise declares them (name → value); facts not given are taken "
        "from its public facts row",
    )
    note: str = Field(default="", max_length=2000, description="A note to the reviewer")
    submit: bool = Field(
        default=False, description="Submit at once (only when the clause lists no materials); otherwise a draft"
    )


class ClaimUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    claimed_facts: dict[str, Any] | None = None
    note: str | None = Field(default=None, max_length=2000)


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: int = Field(ge=0, description="The approved amount in yuan: at most the application's cap")
    reason: str = Field(default="", max_length=2000)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=2000)


class DisburseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str = Field(min_length=1, max_length=64, description="The payment voucher number")


class MaterialRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    label: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: int | None
    uploaded_at: datetime


class RequiredMaterial(BaseModel):
    label: str
    provided: int  # files uploaded under this label


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    action: str
    from_state: str | None
    to_state: str
    actor_user_id: int | None
    actor_org_id: int | None
    amount: int | None
    reason: str
    at: datetime


class DisbursementRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    amount: int
    reference: str
    created_by: int | None
    created_at: datetime


class FactComparison(BaseModel):
    """One fact of the clause: what the enterprise claims next to the public-data value.
    ``status``: same, differs, no_public (no public value to compare with), unknown (neither)."""

    name: str
    title: str
    type: str
    unit: str | None
    claimed: Any
    public: Any
    status: str


class ApplicationSummary(BaseModel):
    id: int
    pack_id: str
    pack_title: str
    clause_id: str
    clause_title: str
    year: int
    organisation_id: int
    organisation_name: str
    uscc: str
    registered_district: str
    reviewer_org_id: int
    reviewer_name: str
    state: str
    state_label: str
    computed_amount: int | None
    amount_kind: str
    cap: int | None
    approved_amount: int | None
    submitted_at: datetime
    updated_at: datetime


class ApplicationRead(ApplicationSummary):
    claimed_facts: dict[str, Any]
    public_facts: dict[str, Any] | None
    facts_version: int | None
    evaluation: dict[str, Any]
    note: str
    reason: str
    facts: list[FactComparison]
    differences: list[str]  # facts whose claimed value differs from the public one
    required_materials: list[RequiredMaterial]
    missing_materials: list[str]
    materials: list[MaterialRead]
    events: list[EventRead]
    disbursement: DisbursementRead | None
    notice_id: int | None
    actions: list[str]  # what the caller may do now: submit, update, material, withdraw, approve, …
