"""The consent table: which enterprise let which bank read which sections of its credit report, for
what purpose, until when; and whether it was revoked. Rows are never deleted: a revoked or expired
consent stays as the record of what was allowed."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db import Base, utcnow


class FinanceConsent(Base):
    __tablename__ = "finance_consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)  # the enterprise the report is about
    enterprise_org_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    bank_org_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    sections: Mapped[list[str]] = mapped_column(JSON)  # codes of consent.SECTIONS
    purpose: Mapped[str] = mapped_column(String(32))  # a code of consent.PURPOSES
    purpose_note: Mapped[str] = mapped_column(Text, default="")
    expires_on: Mapped[date]  # the last Beijing day on which the bank may read (inclusive)
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    revoke_reason: Mapped[str] = mapped_column(Text, default="")
