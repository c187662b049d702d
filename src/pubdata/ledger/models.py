"""The ledger's tables: accounts, journal entries and their lines (amounts in signed integer fen,
debit positive, credit negative). Entries and lines are append-only: nothing is ever updated or
deleted; a correction is a new entry that reverses the old one (``reverses_id``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db import Base, utcnow


class LedgerAccount(Base):
    """An account: the market's own (``organisation_id`` None, e.g. ``market:cash``) or an
    organisation's (``org:12:receivable``)."""

    __tablename__ = "ledger_account"
    __table_args__ = (CheckConstraint("kind IN ('asset', 'liability', 'revenue', 'expense', 'equity')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(96), unique=True)
    title: Mapped[str] = mapped_column(String(200))  # Chinese, as statements show it
    kind: Mapped[str] = mapped_column(String(16))  # asset | liability | revenue | expense | equity
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerEntry(Base):
    """A journal entry: lines summing to zero, posted once under its ``reference`` (the idempotency
    key of the business event, e.g. ``payment:42``)."""

    __tablename__ = "ledger_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)  # payment | refund | usage | settlement | …
    memo: Mapped[str] = mapped_column(Text, default="")
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    # the entry this one reverses; unique: an entry is reversed at most once
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"), unique=True)


class LedgerLine(Base):
    __tablename__ = "ledger_line"
    __table_args__ = (CheckConstraint("amount_fen <> 0", name="amount_fen_nonzero"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # debit positive, credit negative
    memo: Mapped[str] = mapped_column(Text, default="")
