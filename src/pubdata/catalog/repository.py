"""Every query of the catalogue domain, including ``visible`` (what an actor may see) and the
loads behind the search index (catalog/search.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, delete, func, insert, select
from sqlalchemy.orm import Session, contains_eager, lazyload, selectinload

from pubdata.authz import Actor
from pubdata.catalog.models import CatalogEntry, CatalogResource, EntryRevision, EntryTag, SearchTerm
from pubdata.identity.models import Organisation

ACTIVE = "active"

# Facet name → the column it groups by (for the home page figures).
FACET_COLUMNS: dict[str, Any] = {
    "category": CatalogEntry.category,
    "organisation": Organisation.code,
    "open_type": CatalogEntry.open_type,
    "security_grade": CatalogEntry.security_grade,
    "update_frequency": CatalogEntry.update_frequency,
    "district": CatalogEntry.district,
}
FACETS = (*FACET_COLUMNS, "tags")


def visible(stmt: Select, actor: Actor) -> Select:
    """Catalogue metadata of active entries is public (the city publishes what it holds, including
    what it does not open); deleted entries are visible to nobody."""
    return stmt.where(CatalogEntry.state == ACTIVE)


def entry_by_code_or_name(session: Session, actor: Actor, key: str) -> CatalogEntry | None:
    stmt = visible(select(CatalogEntry), actor).where((CatalogEntry.code == key) | (CatalogEntry.name == key))
    return session.scalars(stmt).first()


def entry_by_id(session: Session, actor: Actor, entry_id: int) -> CatalogEntry | None:
    return session.scalars(visible(select(CatalogEntry), actor).where(CatalogEntry.id == entry_id)).first()


def code_taken(session: Session, code: str, name: str) -> str | None:
    row = session.execute(
        select(CatalogEntry.code, CatalogEntry.name).where((CatalogEntry.code == code) | (CatalogEntry.name == name))
    ).first()
    if row is None:
        return None
    return "code" if row.code == code else "name"


def resource_by_id(session: Session, actor: Actor, resource_id: str) -> CatalogResource | None:
    """The resource with its entry, in one query (every row read starts here): the entry's tags are
    loaded only if asked for."""
    stmt = (
        select(CatalogResource)
        .join(CatalogEntry, CatalogResource.entry_id == CatalogEntry.id)
        .options(contains_eager(CatalogResource.entry), lazyload(CatalogResource.entry, CatalogEntry.tags))
        .where(CatalogResource.id == resource_id)
    )
    return session.scalars(visible(stmt, actor)).first()


def revisions(session: Session, entry_id: int) -> list[EntryRevision]:
    stmt = select(EntryRevision).where(EntryRevision.entry_id == entry_id).order_by(EntryRevision.number.desc())
    return list(session.scalars(stmt))


def next_revision_number(session: Session, entry_id: int) -> int:
    return (session.scalar(select(func.max(EntryRevision.number)).where(EntryRevision.entry_id == entry_id)) or 0) + 1


def replace_search_terms(session: Session, entry_id: int, weights: dict[str, int]) -> None:
    session.execute(delete(SearchTerm).where(SearchTerm.entry_id == entry_id))
    if weights:
        session.execute(
            insert(SearchTerm), [{"entry_id": entry_id, "term": t, "weight": w} for t, w in weights.items()]
        )


def entry_names(session: Session, actor: Actor) -> list[str]:
    return list(session.scalars(visible(select(CatalogEntry.name), actor).order_by(CatalogEntry.name)))


def tag_counts(session: Session, actor: Actor, prefix: str | None = None) -> list[tuple[str, int]]:
    stmt = visible(select(EntryTag.tag, func.count()).join(CatalogEntry, EntryTag.entry_id == CatalogEntry.id), actor)
    if prefix:
        stmt = stmt.where(EntryTag.tag.startswith(prefix, autoescape=True))
    rows = session.execute(stmt.group_by(EntryTag.tag).order_by(func.count().desc(), EntryTag.tag))
    return [(tag, n) for tag, n in rows]


def counts_by(session: Session, actor: Actor, facet: str) -> list[tuple[str, int]]:
    col = FACET_COLUMNS[facet]
    stmt = visible(select(col, func.count()).select_from(CatalogEntry).join(Organisation), actor)
    rows = session.execute(stmt.group_by(col).order_by(func.count().desc(), col))
    return [(value, n) for value, n in rows]


def count_entries(session: Session, actor: Actor) -> int:
    return session.scalar(visible(select(func.count()).select_from(CatalogEntry), actor)) or 0


# --- search index ------------------------------------------------------------------------------


def index_signature(session: Session) -> tuple[int, int]:
    """(count, sum of index stamps) over all entries: changes whenever any entry changes."""
    row = session.execute(select(func.count(), func.coalesce(func.sum(CatalogEntry.index_stamp), 0))).one()
    return int(row[0]), int(row[1])


def index_stamps(session: Session) -> dict[int, tuple[int, bool]]:
    rows = session.execute(select(CatalogEntry.id, CatalogEntry.index_stamp, CatalogEntry.state))
    return {i: (stamp, state == ACTIVE) for i, stamp, state in rows}


def index_rows(session: Session, ids: list[int] | None) -> Any:
    """Every column of the active entries (or of ``ids``) with the publisher's id, code and name."""
    entry = CatalogEntry.__table__
    stmt = (
        select(
            *entry.columns,
            Organisation.code.label("organisation_code"),
            Organisation.name.label("organisation_name"),
        )
        .join(Organisation, CatalogEntry.organisation_id == Organisation.id)
        .where(CatalogEntry.state == ACTIVE)
    )
    if ids is not None:
        stmt = stmt.where(CatalogEntry.id.in_(ids))
    return session.execute(stmt)


def index_resources(session: Session, ids: list[int] | None) -> Any:
    res = CatalogResource.__table__
    stmt = select(*res.columns).order_by(CatalogResource.entry_id, CatalogResource.position)
    if ids is not None:
        stmt = stmt.where(CatalogResource.entry_id.in_(ids))
    return session.execute(stmt)


def index_tags(session: Session, ids: list[int] | None) -> Any:
    stmt = select(EntryTag.entry_id, EntryTag.tag)
    if ids is not None:
        stmt = stmt.where(EntryTag.entry_id.in_(ids))
    return session.execute(stmt)


def index_terms(session: Session, ids: list[int] | None) -> Any:
    stmt = select(SearchTerm.entry_id, SearchTerm.term, SearchTerm.weight)
    if ids is not None:
        stmt = stmt.where(SearchTerm.entry_id.in_(ids))
    return session.execute(stmt)


def entries_by_ids(session: Session, actor: Actor, ids: list[int], *, with_fields: bool = False) -> list[CatalogEntry]:
    """The entries, in the order of ``ids`` (those the actor may see)."""
    if not ids:
        return []
    stmt = visible(select(CatalogEntry), actor).where(CatalogEntry.id.in_(ids))
    if with_fields:
        stmt = stmt.options(selectinload(CatalogEntry.fields))
    found = {e.id: e for e in session.scalars(stmt)}
    return [found[i] for i in ids if i in found]
