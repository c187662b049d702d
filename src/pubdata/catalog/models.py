"""Catalogue entries (数据目录), their fields, tags, resources, revisions and the search index."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pubdata.db import Base, utcnow
from pubdata.identity.models import Organisation


def new_index_stamp() -> int:
    """A random 31-bit stamp, renewed whenever an entry's searchable content changes. Search
    processes compare count and sum of stamps to notice any change, committed in any order."""
    return secrets.randbits(31)


class CatalogEntry(Base):
    __tablename__ = "catalog_entry"
    # covers the search index's change check: count and sum of stamps, and id → (stamp, state)
    __table_args__ = (Index("ix_catalog_entry_index_stamp", "index_stamp", "id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # e.g. QD-SCJGJ-GS-0001
    name: Mapped[str] = mapped_column(String(100), unique=True)  # URL name (CKAN "name")
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    organisation_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    category: Mapped[str] = mapped_column(String(32), index=True)
    open_type: Mapped[str] = mapped_column(String(16), index=True)
    security_grade: Mapped[str] = mapped_column(String(16), index=True)
    update_frequency: Mapped[str] = mapped_column(String(16), index=True)
    district: Mapped[str] = mapped_column(String(16), index=True)  # spatial coverage: 全市 or a district
    temporal_start: Mapped[date | None]
    temporal_end: Mapped[date | None]
    licence: Mapped[str] = mapped_column(String(100))
    contact_name: Mapped[str] = mapped_column(String(100), default="")
    contact_email: Mapped[str] = mapped_column(String(200), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    state: Mapped[str] = mapped_column(String(16), default="active", index=True)  # active | deleted
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    index_stamp: Mapped[int] = mapped_column(default=new_index_stamp)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    tags: Mapped[list[EntryTag]] = relationship(cascade="all, delete-orphan", order_by="EntryTag.tag", lazy="selectin")
    # loaded on access (an entry page) or eagerly where asked (search with_fields)
    fields: Mapped[list[EntryField]] = relationship(cascade="all, delete-orphan", order_by="EntryField.position")
    resources: Mapped[list[CatalogResource]] = relationship(
        cascade="all, delete-orphan",
        order_by="CatalogResource.position",
        lazy="selectin",
        back_populates="entry",
    )

    @property
    def tag_names(self) -> list[str]:
        return [t.tag for t in self.tags]


class EntryTag(Base):
    __tablename__ = "catalog_entry_tag"
    __table_args__ = (Index("ix_catalog_entry_tag_tag", "tag"),)

    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entry.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(50), primary_key=True)


class EntryField(Base):
    """One field (column) of an entry's data, as declared in the catalogue."""

    __tablename__ = "catalog_entry_field"
    __table_args__ = (UniqueConstraint("entry_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entry.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(100))  # Chinese label
    type: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    is_personal: Mapped[bool] = mapped_column(default=False)
    personal_kind: Mapped[str | None] = mapped_column(String(16))


class CatalogResource(Base):
    """A table (distribution) of an entry. Issue #3 gives it records and versions."""

    __tablename__ = "catalog_resource"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # UUID, as CKAN resources
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entry.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    format: Mapped[str] = mapped_column(String(20), default="CSV")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)

    entry: Mapped[CatalogEntry] = relationship(back_populates="resources")


class EntryRevision(Base):
    """Who changed what, when. ``changes`` maps each changed attribute to ``[old, new]``."""

    __tablename__ = "catalog_entry_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entry.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    action: Mapped[str] = mapped_column(String(16))  # create | update | delete
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    actor_name: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)


class SearchTerm(Base):
    """Inverted index for Chinese full-text search: one row per (term, entry) with an integer weight
    (term frequency times field weight), built with jieba when an entry changes."""

    __tablename__ = "catalog_search_term"
    __table_args__ = (Index("ix_catalog_search_term_term_entry", "term", "entry_id", "weight"),)

    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entry.id", ondelete="CASCADE"), primary_key=True)
    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    weight: Mapped[int]
