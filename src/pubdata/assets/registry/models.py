"""Registrations of data resources and products (确权登记), their events and objections.

A registration is one application of one kind (initial, change, correction, transfer, licence,
cancellation); every kind but ``initial`` names the registration it amends (``previous_id``) and the
chain's first registration (``root_id``, the registration's own id for an initial one)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db import Base, utcnow


class AssetRegistration(Base):
    """States: submitted → accepted → (returned → submitted …) → public_notice → registered, or
    rejected (at acceptance) / refused (an objection upheld); a registered one becomes superseded by
    a later change, correction or transfer of its chain, cancelled when the chain is cancelled."""

    __tablename__ = "asset_registration"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    state: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("asset_registration.id"), index=True)
    root_id: Mapped[int | None] = mapped_column(ForeignKey("asset_registration.id"), index=True)
    code: Mapped[str | None] = mapped_column(String(32), unique=True)  # 登记编号, given at registration
    subject: Mapped[str] = mapped_column(String(16))  # resource | product
    product_id: Mapped[int | None] = mapped_column(ForeignKey("market_product.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    holder_org_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    holder_name: Mapped[str] = mapped_column(String(200))
    holder_uscc: Mapped[str] = mapped_column(String(18))
    # transfer: the transferor; licence: the licensee
    counterparty_org_id: Mapped[int | None] = mapped_column(ForeignKey("identity_organisation.id"))
    counterparty_name: Mapped[str | None] = mapped_column(String(200))
    counterparty_uscc: Mapped[str | None] = mapped_column(String(18))
    licence_until: Mapped[date | None]
    rights: Mapped[list[str]] = mapped_column(JSON)
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{entry, title, basis, grant_id}]
    resource_id: Mapped[str] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entry.id"), index=True)
    version: Mapped[int]  # the table version fingerprinted
    field_names: Mapped[list[str]] = mapped_column(JSON)
    rows: Mapped[int] = mapped_column(BigInteger)  # 规模: rows of the version
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    update_frequency: Mapped[str] = mapped_column(String(100), default="")
    coverage: Mapped[str] = mapped_column(String(500), default="")
    scenario: Mapped[str] = mapped_column(String(32))
    classification: Mapped[str] = mapped_column(String(16))  # general | important (core is refused)
    reason: Mapped[str] = mapped_column(Text, default="")  # why a change, correction, … is asked
    notice_from: Mapped[date | None]
    notice_until: Mapped[date | None]
    registered_on: Mapped[date | None]
    registered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]  # superseded or cancelled
    applicant_user_id: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RegistrationEvent(Base):
    """One transition of a registration: who moved it from which state to which, when and why."""

    __tablename__ = "registration_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("asset_registration.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class RegistrationObjection(Base):
    """An objection (异议) filed during a registration's public notice: open until resolved as upheld
    (the registration is refused) or dismissed, with the resolver's reasons."""

    __tablename__ = "registration_objection"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("asset_registration.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    filed_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    filed_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("identity_organisation.id"))
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | upheld | dismissed
    resolution: Mapped[str] = mapped_column(Text, default="")
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    resolved_at: Mapped[datetime | None]
