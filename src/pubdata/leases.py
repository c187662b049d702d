"""Leases: which process of a deployment does a piece of periodic work (the facts refresher, the
policy-match and score followers), so that several servers and workers schedule it once, not once
per process. A lease is one row per piece of work naming its holder until a moment; a process takes
it with one ``UPDATE … WHERE holder = me OR expires_at < now`` (or the first ``INSERT``), so exactly
one process holds it at a time on SQLite and PostgreSQL alike. The holder renews it each run; if the
holder dies, its lease runs out and another process takes the work over."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, String, delete, insert, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db import Base, utcnow


class WorkerLease(Base):
    __tablename__ = "worker_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))  # host:pid:token
    expires_at: Mapped[datetime]


def hold(engine: Engine, name: str, holder: str, ttl_seconds: float) -> bool:
    """Take or renew the lease ``name`` for ``holder`` until ``ttl_seconds`` from now; False when
    another live holder has it."""
    now = utcnow()
    until = now + timedelta(seconds=ttl_seconds)
    with engine.begin() as conn:
        taken = conn.execute(
            update(WorkerLease)
            .where(WorkerLease.name == name, or_(WorkerLease.holder == holder, WorkerLease.expires_at < now))
            .values(holder=holder, expires_at=until)
        )
        if taken.rowcount:
            return True
    try:
        with engine.begin() as conn:
            conn.execute(insert(WorkerLease).values(name=name, holder=holder, expires_at=until))
        return True
    except IntegrityError:  # it exists and is held by another process
        return False


def release(engine: Engine, name: str, holder: str) -> None:
    """Give the lease up (a process stopping): another process takes the work over at once."""
    with engine.begin() as conn:
        conn.execute(delete(WorkerLease).where(WorkerLease.name == name, WorkerLease.holder == holder))
