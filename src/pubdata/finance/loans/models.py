"""Loan products, applications and the history of each application's pipeline.

Money is integer yuan (元), rates are annual basis points (345 = 3.45%), terms whole months."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db import Base, utcnow


class FinanceLoanProduct(Base):
    """A bank's loan product. ``eligibility`` is a condition in the rules language over the loan
    inputs (``loans.inputs``); states: draft → published → withdrawn (a published product's terms
    change only by a new version number)."""

    __tablename__ = "finance_loan_product"
    __table_args__ = (UniqueConstraint("bank_org_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_org_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(16))  # tech (科技金融) | inclusive (普惠金融)
    amount_min: Mapped[int] = mapped_column(BigInteger)
    amount_max: Mapped[int] = mapped_column(BigInteger)
    term_min_months: Mapped[int]
    term_max_months: Mapped[int]
    rate_min_bp: Mapped[int]
    rate_max_bp: Mapped[int]
    guarantee: Mapped[str] = mapped_column(String(16))  # credit | guarantee | mortgage | pledge
    eligibility: Mapped[str] = mapped_column(Text)
    sections: Mapped[list[str]] = mapped_column(JSON)  # report sections the bank needs consent to read
    state: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    version: Mapped[int] = mapped_column(default=1)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FinanceLoanApplication(Base):
    """An enterprise's application for a product, attaching its consent to the product's bank.

    States: received → reviewing → approved (amount, rate, term) | declined (reason) → disbursed →
    repaid | defaulted; withdrawn by the enterprise before a decision. What the dashboard groups by
    (district, industry, tier, grade) is kept as it was when the enterprise applied."""

    __tablename__ = "finance_loan_application"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("finance_loan_product.id"), index=True)
    product_version: Mapped[int]
    bank_org_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    enterprise_org_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("finance_consent.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    term_months: Mapped[int]
    purpose: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="received", index=True)
    eligibility: Mapped[dict[str, Any]] = mapped_column(JSON)  # the match at application time, with its trace
    district: Mapped[str | None] = mapped_column(String(16))
    industry: Mapped[str | None] = mapped_column(String(8))  # GB/T 4754 section letter (门类)
    tier: Mapped[str | None] = mapped_column(String(32))
    grade: Mapped[str | None] = mapped_column(String(8))
    approved_amount: Mapped[int | None] = mapped_column(BigInteger)
    approved_rate_bp: Mapped[int | None]
    approved_term_months: Mapped[int | None]
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    disbursed_on: Mapped[date | None]
    closed_on: Mapped[date | None]  # repaid or defaulted
    created_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FinanceLoanEvent(Base):
    """One step of an application's pipeline: who moved it from which state to which, and why."""

    __tablename__ = "finance_loan_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("finance_loan_application.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
