"""Data trusts: the trust, its beneficiaries (exact shares as reduced fractions), its entrusted
registered assets (by registration code) and its distributions (amounts in integer fen)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db import Base, utcnow


class AssetTrust(Base):
    """A data trust. States: draft → active (the operator approves) → ended (term over, or
    terminated with a reason). Only a draft is edited; every edit bumps ``version``. The fee is a
    rate in basis points of the gross (``fee_rate_bp``) or a fixed amount per distribution
    (``fee_fixed_fen``), exactly one of them."""

    __tablename__ = "asset_trust"
    __table_args__ = (
        CheckConstraint("(fee_rate_bp IS NULL) <> (fee_fixed_fen IS NULL)", name="one_fee_kind"),
        CheckConstraint("term_end >= term_start", name="term"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    settlor_org_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    trustee_org_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))  # asset_service | asset_management | charity
    fee_rate_bp: Mapped[int | None]
    fee_fixed_fen: Mapped[int | None] = mapped_column(BigInteger)
    term_start: Mapped[date]
    term_end: Mapped[date]
    state: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    version: Mapped[int] = mapped_column(default=1)
    # the trust's clearing account (liability), opened when the trust is approved
    ledger_account_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_account.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    approved_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str] = mapped_column(Text, default="")


class AssetTrustBeneficiary(Base):
    """A beneficiary and its share ``numerator / denominator`` (reduced, positive); the shares of a
    trust sum to exactly one, and exactly one beneficiary takes the rounding remainder."""

    __tablename__ = "asset_trust_beneficiary"
    __table_args__ = (
        UniqueConstraint("trust_id", "organisation_id"),
        CheckConstraint("numerator > 0 AND denominator > 0", name="share_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trust_id: Mapped[int] = mapped_column(ForeignKey("asset_trust.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    numerator: Mapped[int] = mapped_column(BigInteger)
    denominator: Mapped[int] = mapped_column(BigInteger)
    remainder: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int]  # the order given


class AssetTrustAsset(Base):
    """A registered data asset entrusted to the trust, by its registration code (登记编号)."""

    __tablename__ = "asset_trust_asset"
    __table_args__ = (UniqueConstraint("trust_id", "registration_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trust_id: Mapped[int] = mapped_column(ForeignKey("asset_trust.id"), index=True)
    registration_code: Mapped[str] = mapped_column(ForeignKey("asset_registration.code"), index=True)
    position: Mapped[int]


class AssetTrustDistribution(Base):
    """One distribution (收益分配) under its ``reference`` (the ledger entry's reference, unique):
    the gross, the trustee's fee and each beneficiary's part (``parts``: ``[{organisation_id,
    amount_fen, remainder}]``); ``ledger_entry_id`` is None only for a gross of zero."""

    __tablename__ = "asset_trust_distribution"

    id: Mapped[int] = mapped_column(primary_key=True)
    trust_id: Mapped[int] = mapped_column(ForeignKey("asset_trust.id"), index=True)
    reference: Mapped[str] = mapped_column(String(128), unique=True)
    gross_fen: Mapped[int] = mapped_column(BigInteger)
    fee_fen: Mapped[int] = mapped_column(BigInteger)
    parts: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))
    distributed_on: Mapped[date]  # the Beijing date checked against the term
    distributed_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    distributed_at: Mapped[datetime] = mapped_column(default=utcnow)
