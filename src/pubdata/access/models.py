"""Access requests, the decisions taken on them, grants (contracts with usage policies) and the
usage counters that quotas are charged against."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db import Base, utcnow


class AccessRequest(Base):
    """A consumer organisation asks to use a conditionally open table for a purpose.

    States: requested → department_approved → granted, or rejected (by either step), or withdrawn
    (by the consumer before the end). The department and the operator may narrow what is asked
    (fewer fields, a shorter period, stricter masks, a row filter) when they approve."""

    __tablename__ = "access_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entry.id", ondelete="CASCADE"), index=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("catalog_resource.id", ondelete="CASCADE"), index=True)
    publisher_org_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    consumer_org_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    requested_by: Mapped[int] = mapped_column(ForeignKey("identity_user.id"))
    scenario: Mapped[str] = mapped_column(String(200))  # the application scenario, in a few words
    purpose: Mapped[str] = mapped_column(Text)
    fields: Mapped[list[str]] = mapped_column(JSON)
    masks: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # field → mask rule
    row_filter: Mapped[str | None] = mapped_column(Text)
    period_start: Mapped[date]
    period_end: Mapped[date]
    expected_rows: Mapped[int] = mapped_column(BigInteger, default=0)  # per month, as the consumer expects
    mode: Mapped[str] = mapped_column(String(16), default="rows")  # rows | sandbox (aggregates only)
    state: Mapped[str] = mapped_column(String(24), default="requested", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccessDecision(Base):
    """One transition of a request or grant: who, which step, what changed and why."""

    __tablename__ = "access_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("access_request.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(16))  # consumer | department | operator
    action: Mapped[str] = mapped_column(String(16))  # submit | approve | narrow | reject | withdraw | revoke
    from_state: Mapped[str] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    actor_org_id: Mapped[int | None] = mapped_column(ForeignKey("identity_organisation.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AccessGrant(Base):
    """The contract the operator's approval creates: which fields (each with its mask), which rows
    (a filter over the table's fields), when, for what, and how much (quotas, rate). Revocation takes
    effect on the next read."""

    __tablename__ = "access_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("access_request.id", ondelete="CASCADE"), unique=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entry.id", ondelete="CASCADE"), index=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("catalog_resource.id", ondelete="CASCADE"), index=True)
    publisher_org_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    consumer_org_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    fields: Mapped[list[str]] = mapped_column(JSON)
    masks: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    row_filter: Mapped[str | None] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[date]
    valid_to: Mapped[date]
    daily_call_quota: Mapped[int | None]
    daily_row_quota: Mapped[int | None] = mapped_column(BigInteger)
    rate_per_minute: Mapped[int | None]
    # rows | sandbox (aggregates only) | verify (match / no match answers of a verification product)
    mode: Mapped[str] = mapped_column(String(16), default="rows")
    # review: issued by the operator after the department's review; market: made from a data
    # product's contract template for a buyer's entitlement (never a basis to build or register on)
    origin: Mapped[str] = mapped_column(String(16), default="review", server_default="review")
    privacy_budget: Mapped[float | None]  # total epsilon for differentially private sandbox queries
    privacy_spent: Mapped[float] = mapped_column(default=0.0)
    state: Mapped[str] = mapped_column(String(16), default="active", index=True)  # active | revoked
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    revoke_reason: Mapped[str | None] = mapped_column(Text)


class AccessUsage(Base):
    """Calls and rows charged to a grant per day (Beijing date) and per minute window: quota and
    rate counters that survive restarts and are shared by every server process."""

    __tablename__ = "access_usage"

    grant_id: Mapped[int] = mapped_column(ForeignKey("access_grant.id", ondelete="CASCADE"), primary_key=True)
    window: Mapped[str] = mapped_column(String(20), primary_key=True)  # "d:2026-11-25" or "m:2026-11-25T10:31"
    calls: Mapped[int] = mapped_column(BigInteger, default=0)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)


class Zone(Base):
    """A space with its own members, catalogue and rules (金融专区, 医疗专区)."""

    __tablename__ = "access_zone"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    member_kinds: Mapped[str] = mapped_column(String(200))  # organisation kinds that may apply, comma-separated
    sandbox_only_personal: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ZoneMember(Base):
    __tablename__ = "access_zone_member"
    __table_args__ = (UniqueConstraint("zone_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("access_zone.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="applied")  # applied | admitted | rejected
    qualifications: Mapped[str] = mapped_column(Text)  # licences, filings, security certifications
    applied_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    reviewed_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, default="")


class ZoneEntry(Base):
    __tablename__ = "access_zone_entry"

    zone_id: Mapped[int] = mapped_column(ForeignKey("access_zone.id", ondelete="CASCADE"), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entry.id", ondelete="CASCADE"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
