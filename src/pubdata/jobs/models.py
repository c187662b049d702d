"""The platform's job table: one row per long job of any kind, with its progress and outcome.

Queued by inserting the row; claimed by one worker with an ``UPDATE … WHERE state = 'queued'``;
see ``pubdata.jobs.queue``. ``key`` names what a job does (``facts``, ``settle:2026-11``…) and
``active_key`` holds it while the job is queued or running: a unique column (NULLs allowed), so at
most one job per key is waiting or running however many schedulers enqueue it. The ingest-specific
columns (``resource_id``, ``source_*``, ``bytes_received``) are empty for other kinds."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pubdata.db import Base, utcnow

if TYPE_CHECKING:
    from pubdata.identity.models import User


class Job(Base):
    __tablename__ = "job"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # uuid4
    kind: Mapped[str] = mapped_column(String(32), default="ingest", index=True)
    key: Mapped[str | None] = mapped_column(String(120))  # what it does, for deduplication
    active_key: Mapped[str | None] = mapped_column(String(120), unique=True)  # = key while queued/running
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # ids and parameters, never objects
    # the loaded table of an ingest job (its resource's versions are loaded one at a time)
    resource_id: Mapped[str | None] = mapped_column(
        ForeignKey("store_table.resource_id", ondelete="CASCADE"), index=True
    )
    # queued | running | succeeded | failed | dead (the dead-letter state: not retried again)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    stage: Mapped[str] = mapped_column(String(32), default="")  # what it is doing, in Chinese
    percent: Mapped[int] = mapped_column(default=0)
    rows_so_far: Mapped[int | None] = mapped_column(BigInteger)
    bytes_received: Mapped[int] = mapped_column(BigInteger, default=0)
    source_name: Mapped[str] = mapped_column(String(300), default="")  # the file name as uploaded
    source_path: Mapped[str] = mapped_column(Text, default="")  # where the file is on this machine
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"code", "message", "details"}
    created_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    created_via: Mapped[str] = mapped_column(String(16), default="api")  # api | portal | cli | schedule
    worker: Mapped[str | None] = mapped_column(String(200))  # host:pid:token of the process running it
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")  # runs interrupted or crashed so far
    not_before: Mapped[datetime | None]  # a retried job waits until then (backoff)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    creator: Mapped[User | None] = relationship("User", lazy="joined")
