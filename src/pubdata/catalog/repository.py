"""Every query of the catalogue domain, including ``visible`` (what an actor may see) and the
search query builder. Kept portable: the same statements give the same results on SQLite and
PostgreSQL (integer scores, deterministic tie-breaks, byte-order collation for text sorts)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, case, delete, func, insert, literal, select
from sqlalchemy.orm import Session

from pubdata.authz import Actor
from pubdata.catalog.models import CatalogEntry, CatalogResource, EntryRevision, EntryTag, SearchTerm
from pubdata.identity.models import Organisation

ACTIVE = "active"

# Facet name → the column it groups by (tags are handled separately).
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
        select(CatalogEntry.code, CatalogEntry.name).where(
            (CatalogEntry.code == code) | (CatalogEntry.name == name)
        )
    ).first()
    if row is None:
        return None
    return "code" if row.code == code else "name"


def resource_by_id(session: Session, actor: Actor, resource_id: str) -> CatalogResource | None:
    stmt = (
        select(CatalogResource)
        .join(CatalogEntry, CatalogResource.entry_id == CatalogEntry.id)
        .where(CatalogResource.id == resource_id)
    )
    return session.scalars(visible(stmt, actor)).first()


def revisions(session: Session, entry_id: int) -> list[EntryRevision]:
    stmt = (
        select(EntryRevision).where(EntryRevision.entry_id == entry_id).order_by(EntryRevision.number.desc())
    )
    return list(session.scalars(stmt))


def next_revision_number(session: Session, entry_id: int) -> int:
    return (
        session.scalar(select(func.max(EntryRevision.number)).where(EntryRevision.entry_id == entry_id)) or 0
    ) + 1


def replace_search_terms(session: Session, entry_id: int, weights: dict[str, int]) -> None:
    session.execute(delete(SearchTerm).where(SearchTerm.entry_id == entry_id))
    if weights:
        session.execute(
            insert(SearchTerm), [{"entry_id": entry_id, "term": t, "weight": w} for t, w in weights.items()]
        )


def entry_names(session: Session, actor: Actor) -> list[str]:
    return list(session.scalars(visible(select(CatalogEntry.name), actor).order_by(CatalogEntry.name)))


def tag_counts(session: Session, actor: Actor, prefix: str | None = None) -> list[tuple[str, int]]:
    stmt = visible(
        select(EntryTag.tag, func.count()).join(CatalogEntry, EntryTag.entry_id == CatalogEntry.id), actor
    )
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


# --- search ----------------------------------------------------------------------------------


def byte_order(session: Session, column: Any) -> Any:
    """Sort text by code point on every backend (PostgreSQL would otherwise use its locale)."""
    if session.get_bind().dialect.name == "postgresql":
        return column.collate("C")
    return column


def _idf(session: Session, terms: Sequence[str]) -> dict[str, int]:
    total = session.scalar(select(func.count()).select_from(CatalogEntry)) or 0
    rows = session.execute(
        select(SearchTerm.term, func.count()).where(SearchTerm.term.in_(terms)).group_by(SearchTerm.term)
    )
    df = {term: n for term, n in rows}
    return {t: 1 + int(100 * math.log((total + 1) / (df.get(t, 0) + 1))) for t in terms}


def matching_entries(session: Session, terms: Sequence[str]) -> Select:
    """(entry_id, score) of entries holding every term; score = Σ weight × idf, an integer."""
    idf = _idf(session, terms)
    factor = case({t: idf[t] for t in terms}, value=SearchTerm.term, else_=0)
    score = func.sum(SearchTerm.weight * factor).label("score")
    return (
        select(SearchTerm.entry_id, score)
        .where(SearchTerm.term.in_(terms))
        .group_by(SearchTerm.entry_id)
        .having(func.count() == len(terms))
    )


def filtered_ids(
    actor: Actor, filters: dict[str, list[str]], matched: Select | None
) -> tuple[Select, ColumnElement[Any] | None]:
    """The ids of visible entries passing ``filters`` (and the text match), with the score column."""
    score_col: ColumnElement[Any] | None = None
    stmt = select(CatalogEntry.id).join(Organisation, CatalogEntry.organisation_id == Organisation.id)
    if matched is not None:
        sub = matched.subquery("matched")
        stmt = stmt.join(sub, sub.c.entry_id == CatalogEntry.id).add_columns(sub.c.score)
        score_col = sub.c.score
    stmt = visible(stmt, actor)
    for facet, values in filters.items():
        if not values:
            continue
        if facet == "tags":
            for tag in values:  # every tag asked for must be present
                stmt = stmt.where(
                    select(EntryTag.entry_id)
                    .where(EntryTag.entry_id == CatalogEntry.id, EntryTag.tag == tag)
                    .exists()
                )
        else:
            stmt = stmt.where(FACET_COLUMNS[facet].in_(values))
    return stmt, score_col


def facet_counts(session: Session, ids: Select, facet: str, limit: int) -> list[tuple[str, int]]:
    sub = ids.subquery("hits")
    if facet == "tags":
        stmt = (
            select(EntryTag.tag, func.count())
            .join(sub, sub.c.id == EntryTag.entry_id)
            .group_by(EntryTag.tag)
            .order_by(func.count().desc(), byte_order(session, EntryTag.tag))
        )
    else:
        col = FACET_COLUMNS[facet]
        stmt = (
            select(col, func.count())
            .select_from(CatalogEntry)
            .join(Organisation, CatalogEntry.organisation_id == Organisation.id)
            .join(sub, sub.c.id == CatalogEntry.id)
            .group_by(col)
            .order_by(func.count().desc(), byte_order(session, col))
        )
    if limit >= 0:
        stmt = stmt.limit(limit)
    return [(value, n) for value, n in session.execute(stmt)]


SORTS: dict[str, list[tuple[str, str]]] = {
    "relevance": [("score", "desc"), ("modified_at", "desc")],
    "modified_desc": [("modified_at", "desc")],
    "modified_asc": [("modified_at", "asc")],
    "created_desc": [("created_at", "desc")],
    "created_asc": [("created_at", "asc")],
    "title_asc": [("title", "asc")],
    "title_desc": [("title", "desc")],
    "code_asc": [("code", "asc")],
    "code_desc": [("code", "desc")],
}


def page_of_entries(
    session: Session,
    ids: Select,
    score_col: ColumnElement[Any] | None,
    sort: list[tuple[str, str]],
    offset: int,
    limit: int,
) -> list[tuple[CatalogEntry, int]]:
    sub = ids.subquery("hits")
    stmt = select(CatalogEntry, sub.c.score if score_col is not None else literal(0))
    stmt = stmt.join(sub, sub.c.id == CatalogEntry.id)
    order: list[Any] = []
    for key, direction in sort:
        if key == "score":
            if score_col is None:
                continue
            col: Any = sub.c.score
        else:
            col = getattr(CatalogEntry, key)
            if key == "title":
                col = byte_order(session, col)
        order.append(col.desc() if direction == "desc" else col.asc())
    order.append(CatalogEntry.code.asc())  # deterministic tie-break on every backend
    stmt = stmt.order_by(*order).offset(offset).limit(limit)
    return [(entry, int(score or 0)) for entry, score in session.execute(stmt)]


def count_ids(session: Session, ids: Select) -> int:
    return session.scalar(select(func.count()).select_from(ids.subquery())) or 0
