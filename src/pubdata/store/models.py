"""The store's tables: a resource's schema and current version, and its immutable versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db import Base, utcnow
from pubdata.jobs.models import Job


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


# The store's jobs are rows of the platform's job table (``pubdata.jobs``), kind ``ingest``.
StoreJob = Job
