"""Bulk import of catalogue entries (the demo city's 5,099, a department's initial catalogue).

``create_entry`` flushes ORM objects, numbers revisions and re-indexes one entry at a time; this
does the same work for many entries with a handful of executemany ``INSERT``s per batch (SQLAlchemy
Core, portable between SQLite and PostgreSQL): entries, tags, fields, resources, one "create"
revision each, and the search terms computed by ``service.search_weights`` — exactly what
``create_entry`` would have stored. Nothing is committed here; the caller's transaction decides.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from pubdata import bulk as core_bulk
from pubdata.authz import Actor, Permission, require
from pubdata.catalog import service
from pubdata.catalog.errors import DuplicateEntryCode
from pubdata.catalog.models import (
    CatalogEntry,
    CatalogResource,
    EntryField,
    EntryRevision,
    EntryTag,
    SearchTerm,
)
from pubdata.catalog.schemas import EntryCreate, ResourceIn
from pubdata.db import utcnow
from pubdata.identity import service as identity

# Resource ids are derived from the entry code, so an import is reproducible (the demo city).
RESOURCE_NAMESPACE = uuid.UUID("4f7c0a52-5d0e-4b8e-9a57-2b1b6c3f6a10")
BATCH = 500


def resource_id(entry_code: str, position: int) -> str:
    return str(uuid.uuid5(RESOURCE_NAMESPACE, f"{entry_code}#{position}"))


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _existing(session: Session, codes: list[str], names: list[str]) -> tuple[set[str], set[str]]:
    """Codes and URL names already taken (by any entry, deleted ones included)."""
    taken_codes: set[str] = set()
    taken_names: set[str] = set()
    for i in range(0, len(codes), BATCH):
        chunk_codes, chunk_names = codes[i : i + BATCH], names[i : i + BATCH]
        rows = session.execute(
            select(CatalogEntry.code, CatalogEntry.name).where(
                CatalogEntry.code.in_(chunk_codes) | CatalogEntry.name.in_(chunk_names)
            )
        )
        for code, name in rows:
            taken_codes.add(code)
            taken_names.add(name)
    return taken_codes, taken_names


def _snapshot(data: EntryCreate, org_code: str) -> dict[str, Any]:
    """The "create" revision's changes, as ``service._diff({}, service._snapshot(entry))``."""
    given = data.model_dump()
    snap: dict[str, Any] = {}
    for attr in service.SCALAR_ATTRS:
        value = given[attr] if given[attr] is not None or attr.startswith("temporal") else ""
        snap[attr] = service._jsonable(value)
    snap["organisation"] = org_code
    snap["tags"] = sorted(data.tags or [])
    snap["fields"] = [f.model_dump() for f in data.fields or []]
    snap["state"] = "active"
    return {k: [None, v] for k, v in snap.items() if v is not None}


def import_entries(
    session: Session,
    actor: Actor,
    entries: Sequence[EntryCreate | dict[str, Any]],
    *,
    timestamps: Sequence[datetime] | None = None,
    skip_existing: bool = False,
    progress: Any = None,
) -> int:
    """Create many entries at once, as ``create_entry`` would one by one (same permission checks,
    validation, revisions and search index). ``timestamps`` gives each entry's creation time
    (default: now). Entries whose code or name is taken are refused with ``DuplicateEntryCode``,
    or left out when ``skip_existing``. Returns how many entries were created."""
    require(actor, Permission.CATALOG_ENTRY_CREATE)
    items = [e if isinstance(e, EntryCreate) else EntryCreate.model_validate(e) for e in entries]
    if timestamps is not None and len(timestamps) != len(items):
        raise ValueError("timestamps must give one time per entry")
    times = list(timestamps) if timestamps is not None else [utcnow()] * len(items)

    # Publishers: the same checks as create_entry, once per organisation.
    publishers: dict[str | None, tuple[int, str, str]] = {}
    for data in items:
        if data.organisation not in publishers:
            org_id = service._publisher(session, actor, data.organisation)
            org = identity.get_organisation(session, actor, str(org_id))
            publishers[data.organisation] = (org.id, org.code, org.name)

    names = [d.name or d.code.lower().replace(".", "-") for d in items]
    codes = [d.code for d in items]
    seen_codes: set[str] = set()
    seen_names: set[str] = set()
    for code, name in zip(codes, names, strict=True):
        if code in seen_codes or name in seen_names:
            what, value = ("编码", code) if code in seen_codes else ("名称", name)
            raise DuplicateEntryCode(f"导入的数据目录{what}重复：{value}")
        seen_codes.add(code)
        seen_names.add(name)
    taken_codes, taken_names = _existing(session, codes, names)
    keep: list[int] = []
    for i, (code, name) in enumerate(zip(codes, names, strict=True)):
        if code in taken_codes or name in taken_names:
            if skip_existing:
                continue
            field, value = ("code", code) if code in taken_codes else ("name", name)
            raise DuplicateEntryCode(
                f"数据目录{'编码' if field == 'code' else '名称'}已存在：{value}",
                details=[{"field": field, "message": "already exists"}],
            )
        keep.append(i)

    created = 0
    for start in range(0, len(keep), BATCH):
        batch = keep[start : start + BATCH]
        _insert_batch(session, actor, [(items[i], names[i], times[i]) for i in batch], publishers)
        created += len(batch)
        if progress is not None:
            progress(created, len(keep))
    return created


def _insert_batch(
    session: Session,
    actor: Actor,
    batch: list[tuple[EntryCreate, str, datetime]],
    publishers: dict[str | None, tuple[int, str, str]],
) -> None:
    conn = session.connection()
    entry_rows = []
    for data, name, at in batch:
        given = data.model_dump(include=set(service.SCALAR_ATTRS))
        row = {
            attr: given[attr] if given[attr] is not None or attr.startswith("temporal") else ""
            for attr in service.SCALAR_ATTRS
        }
        row.update(
            code=data.code,
            name=name,
            organisation_id=publishers[data.organisation][0],
            state="active",
            created_at=at,
            modified_at=at,
        )
        entry_rows.append(row)
    conn.execute(_table(CatalogEntry).insert(), entry_rows)
    ids = dict(
        session.execute(
            select(CatalogEntry.code, CatalogEntry.id).where(CatalogEntry.code.in_([d.code for d, _, _ in batch]))
        ).all()
    )

    tags: list[dict[str, Any]] = []
    fields: list[dict[str, Any]] = []
    resources: list[dict[str, Any]] = []
    revisions: list[dict[str, Any]] = []
    terms: list[dict[str, Any]] = []
    for data, _name, at in batch:
        entry_id = ids[data.code]
        _org_id, org_code, org_name = publishers[data.organisation]
        tags.extend({"entry_id": entry_id, "tag": t} for t in data.tags or [])
        fields.extend({"entry_id": entry_id, "position": i, **f.model_dump()} for i, f in enumerate(data.fields or []))
        for i, res in enumerate(data.resources or [ResourceIn(name=data.title)]):
            resources.append(
                {
                    "id": resource_id(data.code, i),
                    "entry_id": entry_id,
                    "position": i,
                    **res.model_dump(),
                    "created_at": at,
                    "modified_at": at,
                }
            )
        revisions.append(
            {
                "entry_id": entry_id,
                "number": 1,
                "action": "create",
                "actor_user_id": actor.user_id,
                "actor_name": actor.username or actor.via,
                "at": at,
                "changes": _snapshot(data, org_code),
            }
        )
        weights = service.search_weights(
            title=data.title,
            tags=data.tags or [],
            category=data.category,
            organisation_name=org_name,
            district=data.district,
            code=data.code,
            description=data.description or "",
            fields=[(f.label, f.name) for f in data.fields or []],
        )
        terms.extend({"entry_id": entry_id, "term": t, "weight": w} for t, w in weights.items())

    conn.execute(_table(CatalogResource).insert(), resources)
    conn.execute(_table(EntryRevision).insert(), revisions)
    for table, rows in ((_table(EntryTag), tags), (_table(EntryField), fields), (_table(SearchTerm), terms)):
        if rows:
            _insert_plain(session, table, rows)


def _insert_plain(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows of plain columns (no JSON, no Python-side defaults): ``COPY`` on PostgreSQL (the
    search index alone is ~80 rows per entry, which executemany sends ten times slower there)."""
    columns = list(rows[0])
    core_bulk.insert_rows(session, table, columns, [[tuple(row[c] for c in columns) for row in rows]])
