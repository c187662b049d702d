"""Appraisal reports: the report (inputs and results as JSON, amounts in integer fen) and its
appraisers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db import Base, utcnow


class AssetAppraisal(Base):
    """One appraisal report (评估报告) of an appraisal agency over a registered asset, by its
    registration code. States: draft → signed (immutable; ``content_hash`` is the SHA-256 of its
    canonical content) → withdrawn (the agency withdraws it with a reason; the content stays).
    Only a draft is edited; every edit bumps ``version``. A re-appraisal is a new report naming the
    one it follows (``previous_id``).

    ``cost_input``, ``income_input``, ``market_input``: the method's inputs as entered, every figure
    ``{"value", "evidence", "attachment"}`` (see ``schemas``); ``results``: per method the value,
    the evidenced inputs, the trace and the warnings; ``reconciliation``: the weights (with their
    evidence) or the chosen method and its reason, and the reconciliation's trace."""

    __tablename__ = "asset_appraisal"
    __table_args__ = (
        CheckConstraint("concluded_value_fen IS NULL OR concluded_value_fen > 0", name="value_positive"),
        CheckConstraint(
            "state = 'draft' OR (content_hash IS NOT NULL AND signed_at IS NOT NULL "
            "AND concluded_value_fen IS NOT NULL AND classification_category IS NOT NULL)",
            name="signed_complete",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    registration_code: Mapped[str] = mapped_column(ForeignKey("asset_registration.code"), index=True)
    agency_org_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    # the registration's holder (fixed for a registration code: a transfer is a new registration)
    holder_org_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("asset_appraisal.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(32))  # see schemas.PURPOSES
    purpose_note: Mapped[str] = mapped_column(Text, default="")
    valuation_date: Mapped[date]  # 评估基准日
    state: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    version: Mapped[int] = mapped_column(default=1)
    cost_input: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    income_input: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    market_input: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    results: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reconciliation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    concluded_value_fen: Mapped[int | None] = mapped_column(BigInteger)
    holding_purpose: Mapped[str | None] = mapped_column(String(16))  # own_use | services | sale
    expected_benefits_probable: Mapped[bool | None]
    cost_reliably_measurable: Mapped[bool | None]
    controlled: Mapped[bool | None]
    classification_category: Mapped[str | None] = mapped_column(String(32))
    classification_standard: Mapped[str | None] = mapped_column(String(64))
    classification_reason: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    signed_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    signed_at: Mapped[datetime | None]
    withdrawn_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    withdrawn_at: Mapped[datetime | None]
    withdraw_reason: Mapped[str] = mapped_column(Text, default="")


class AssetAppraisalAppraiser(Base):
    """An appraiser (评估师, a user of the agency with the appraiser role) named on the report, in the
    order given, with the name the report shows (kept as signed)."""

    __tablename__ = "asset_appraisal_appraiser"
    __table_args__ = (UniqueConstraint("appraisal_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("asset_appraisal.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("identity_user.id"), index=True)
    username: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))  # the display name as named on the report
    position: Mapped[int]
