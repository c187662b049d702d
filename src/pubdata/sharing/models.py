"""Delta Sharing recipient profiles: a bearer credential a user issues for themselves and hands to a
partner's Delta Sharing client. Only the SHA-256 of the secret is kept; the profile file (with the
secret) is shown once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db import Base, utcnow


class SharingProfile(Base):
    __tablename__ = "sharing_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("identity_user.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))  # first characters, to recognise a profile in lists
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    last_used_at: Mapped[datetime | None]
