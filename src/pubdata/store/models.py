"""The store's tables: a resource's schema and current version, and its immutable versions."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pubdata.db import Base, utcnow

if TYPE_CHECKING:
    from pubdata.identity.models import User


class StoreTable(Base):
    """A resource's table in the store: its Table Schema and which version readers see."""

    __tablename__ = "store_table"

    resource_id: Mapped[str] = mapped_column(ForeignKey("catalog_resource.id", ondelete="CASCADE"), primary_key=True)
    table_schema: Mapped[dict[str, Any]] = mapped_column(JSON)  # Frictionless Table Schema (+ semanticType)
    current_version: Mapped[int | None]  # the published version readers see; None until the first load
    reject_threshold: Mapped[float] = mapped_column(default=0.05)  # refuse a version above this share
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoreVersion(Base):
    """One load of a resource. Immutable once published; its files live under
    ``$PUBDATA_HOME/store/<resource id>/v<number>/``."""

    __tablename__ = "store_version"
    __table_args__ = (UniqueConstraint("resource_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("store_table.resource_id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    state: Mapped[str] = mapped_column(String(16), default="loading")  # loading | published | refused | failed
    source_name: Mapped[str] = mapped_column(String(300), default="")
    source_format: Mapped[str] = mapped_column(String(16), default="")
    source_encoding: Mapped[str | None] = mapped_column(String(32))
    source_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_loaded: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    quality: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]


class StoreJob(Base):
    """A background job of the store (today: loading an uploaded file as a new version), with its
    progress and outcome. Queued by inserting the row; claimed by one runner with an
    ``UPDATE … WHERE state = 'queued'``; see ``store/jobs/queue.py``."""

    __tablename__ = "store_job"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # uuid4
    kind: Mapped[str] = mapped_column(String(16), default="ingest")
    resource_id: Mapped[str] = mapped_column(ForeignKey("store_table.resource_id", ondelete="CASCADE"), index=True)
    # queued | running | succeeded | failed | dead (interrupted too often: not retried again)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    stage: Mapped[str] = mapped_column(String(32), default="")  # what it is doing, in Chinese
    percent: Mapped[int] = mapped_column(default=0)
    rows_so_far: Mapped[int | None] = mapped_column(BigInteger)
    bytes_received: Mapped[int] = mapped_column(BigInteger, default=0)
    source_name: Mapped[str] = mapped_column(String(300), default="")  # the file name as uploaded
    source_path: Mapped[str] = mapped_column(Text, default="")  # where the file is on this machine
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # LoadResult.as_json(), refused loads too
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"code", "message", "details"}
    created_by: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    created_via: Mapped[str] = mapped_column(String(16), default="api")  # api | portal | cli
    worker: Mapped[str | None] = mapped_column(String(200))  # host:pid:token of the process running it
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")  # runs interrupted so far
    not_before: Mapped[datetime | None]  # a retried job waits until then (backoff)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    creator: Mapped[User | None] = relationship(lazy="joined")
