"""Audit records, hash-chained, and the chain's head (the lock appends take) and anchors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db import Base, utcnow

# The records a grant's use is metered from: allowed, other than the access domain's own (a grant
# issued, revoked). The partial index below holds exactly these, and ``service.grant_usage`` repeats
# this text in its query, as SQLite uses a partial index only for a query with the same terms.
METERED = "result = 'allowed' AND action NOT LIKE 'access.%'"


class AuditRecord(Base):
    """One audited event. Immutable: ``hash`` covers every other column and the previous record's
    hash, so a changed, inserted or deleted record breaks the chain at that point. Ids and names are
    copied, not foreign keys: the trail outlives what it mentions."""

    __tablename__ = "audit_record"
    # metering a grant's use in a period (``service.grant_usage``): one seek per grant into its period,
    # read from the index alone, which holds only the metered records
    __table_args__ = (
        Index(
            "ix_audit_record_grant_metered", "grant_id", "at", "rows",
            sqlite_where=text(METERED), postgresql_where=text(METERED),
        ),
    )  # fmt: skip

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # 1, 2, … no gaps
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(48), index=True)  # e.g. rows.read, sql.read, access.approve
    result: Mapped[str] = mapped_column(String(16), index=True)  # allowed | refused
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_user_id: Mapped[int | None] = mapped_column(index=True)
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    actor_org_id: Mapped[int | None] = mapped_column(index=True)
    via: Mapped[str] = mapped_column(String(16), default="")  # anonymous | session | token | cli | system
    publisher_org_id: Mapped[int | None] = mapped_column(index=True)  # whose data it is
    entry_code: Mapped[str | None] = mapped_column(String(64), index=True)
    resource_id: Mapped[str | None] = mapped_column(String(36), index=True)
    version: Mapped[int | None]
    grant_id: Mapped[int | None]
    query_digest: Mapped[str | None] = mapped_column(String(64))
    rows: Mapped[int | None] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The single row appends lock first (``UPDATE … SET length = length + 1``), so records are
    chained one at a time on every database."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    length: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditAnchor(Base):
    """A checkpoint of the chain (its length and head hash at a time), written periodically and
    printable for safekeeping outside the platform: a rewrite of the whole chain after an anchor
    no longer matches it."""

    __tablename__ = "audit_anchor"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    length: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
