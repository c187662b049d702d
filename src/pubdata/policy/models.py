"""Policy packs as loaded, match runs and their results, proactive notices, and the application
workflow (政策通): applications, their history, uploaded materials and disbursements.

Amounts are integer yuan (元): the policies set whole-yuan figures and a formula's result is rounded
down to the yuan, so no fractions arise."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db import Base, utcnow


class PolicyPackVersion(Base):
    """A pack's text as it was when used: matching results and applications point at it, so a
    later edit of the pack never changes what an earlier result meant."""

    __tablename__ = "policy_pack_version"
    __table_args__ = (UniqueConstraint("pack_id", "digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pack_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)  # the pack's own version number
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of the pack's text
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)


class PolicyMatchRun(Base):
    """One bulk pass of a pack over the facts table."""

    __tablename__ = "policy_match_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    pack_version_id: Mapped[int] = mapped_column(ForeignKey("policy_pack_version.id"), index=True)
    facts_version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="running")  # running | done | failed
    enterprises: Mapped[int] = mapped_column(BigInteger, default=0)
    eligible: Mapped[int] = mapped_column(BigInteger, default=0)  # enterprise × clause pairs
    undecided: Mapped[int] = mapped_column(BigInteger, default=0)
    newly_eligible: Mapped[int] = mapped_column(BigInteger, default=0)
    total_amount: Mapped[int] = mapped_column(BigInteger, default=0)  # known amounts of eligible pairs
    results_path: Mapped[str | None] = mapped_column(String(500))  # every pair, as Parquet
    seconds: Mapped[float] = mapped_column(default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class PolicyMatch(Base):
    """The latest result for an enterprise and clause of a pack version, kept when it is not a plain
    "no" (eligible, or undecided for want of facts); the full results are in the run's Parquet."""

    __tablename__ = "policy_match"
    __table_args__ = (UniqueConstraint("pack_version_id", "clause_id", "uscc"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    pack_version_id: Mapped[int] = mapped_column(ForeignKey("policy_pack_version.id"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("policy_match_run.id"), index=True)
    clause_id: Mapped[str] = mapped_column(String(64))
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    eligible: Mapped[bool | None]
    amount: Mapped[int | None] = mapped_column(BigInteger)
    amount_kind: Mapped[str] = mapped_column(String(16))
    first_matched_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PolicyNotice(Base):
    """A proactive notice (主动推送) in an enterprise's inbox: a clause it newly qualifies for."""

    __tablename__ = "policy_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    pack_version_id: Mapped[int] = mapped_column(ForeignKey("policy_pack_version.id"))
    pack_id: Mapped[str] = mapped_column(String(64))
    clause_id: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    amount_kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    application_id: Mapped[int | None] = mapped_column(ForeignKey("policy_application.id"))


class PolicyReviewer(Base):
    """Who reviews applications of a department duty in a district: "the commerce department of
    the district where the enterprise is registered" is the row (commerce, 崂山区) → 崂山区商务局.
    Managed by the operator; one organisation per duty and district."""

    __tablename__ = "policy_reviewer"
    __table_args__ = (UniqueConstraint("duty", "district"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    duty: Mapped[str] = mapped_column(String(32))  # a pack's reviewer.department, e.g. commerce
    district: Mapped[str] = mapped_column(String(16))  # one of Qingdao's ten districts
    organisation_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PolicyApplication(Base):
    """An enterprise's application for one clause in one year, reviewed by the commerce department
    of the district where it is registered.

    States (``policy.applications.workflow``): draft (materials being uploaded) → submitted → approved →
    disbursed; submitted → rejected; submitted → returned (for more material) → submitted again;
    draft/submitted/returned → withdrawn (by the enterprise)."""

    __tablename__ = "policy_application"
    __table_args__ = (UniqueConstraint("organisation_id", "pack_id", "clause_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pack_id: Mapped[str] = mapped_column(String(64), index=True)
    pack_version_id: Mapped[int] = mapped_column(ForeignKey("policy_pack_version.id"))
    clause_id: Mapped[str] = mapped_column(String(64))
    year: Mapped[int] = mapped_column(Integer)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    registered_district: Mapped[str] = mapped_column(String(16))
    reviewer_org_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    claimed_facts: Mapped[dict[str, Any]] = mapped_column(JSON)  # as the enterprise declares them
    public_facts: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the facts table's row, at submission
    facts_version: Mapped[int | None] = mapped_column(Integer)
    evaluation: Mapped[dict[str, Any]] = mapped_column(JSON)  # the clause's result on the claimed facts
    computed_amount: Mapped[int | None] = mapped_column(BigInteger)
    amount_kind: Mapped[str] = mapped_column(String(16))
    cap: Mapped[int | None] = mapped_column(BigInteger)  # the most a reviewer may approve
    approved_amount: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text, default="")  # the enterprise's note to the reviewer
    reason: Mapped[str] = mapped_column(Text, default="")  # the reviewer's last reason
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PolicyApplicationEvent(Base):
    """One step of an application's history: who did what, from which state to which, and why."""

    __tablename__ = "policy_application_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("policy_application.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(24))  # submit | resubmit | approve | reject | return | ...
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    actor_org_id: Mapped[int | None] = mapped_column(ForeignKey("identity_organisation.id"))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class PolicyMaterial(Base):
    """An uploaded application material (PDF or image), stored under the platform home."""

    __tablename__ = "policy_material"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("policy_application.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(200))  # which required material it is
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_path: Mapped[str] = mapped_column(String(500))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class PolicyDisbursement(Base):
    """The payment record of an approved application (拨付)."""

    __tablename__ = "policy_disbursement"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("policy_application.id"), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str] = mapped_column(String(64))  # the payment voucher number
    created_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
