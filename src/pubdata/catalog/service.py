"""Catalogue entries: create, edit, delete with revisions; read; search with facets.

Departments create and edit only their own entries; the operator curates all. Every change is kept
as a revision (who, when, what changed) and re-indexes the entry for search in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from pubdata.authz import Actor, Permission, require
from pubdata.catalog import repository as repo
from pubdata.catalog import search, text, vocab
from pubdata.catalog.errors import (
    DuplicateEntryCode,
    DuplicateResourceName,
    EntryNotFound,
    InvalidEntry,
    InvalidSearch,
    NotEntryOwner,
    ResourceNotFound,
)
from pubdata.catalog.models import (
    CatalogEntry,
    CatalogResource,
    EntryField,
    EntryRevision,
    EntryTag,
    new_index_stamp,
)
from pubdata.catalog.schemas import EntryCreate, EntrySummary, EntryUpdate, FieldIn, ResourceIn
from pubdata.db import utcnow
from pubdata.identity import service as identity
from pubdata.identity.schemas import OrganisationKind

MAX_ID = 2**31 - 1  # larger numeric keys can only be codes or names (and would overflow INTEGER)
SCALAR_ATTRS = (
    "title",
    "description",
    "category",
    "open_type",
    "security_grade",
    "update_frequency",
    "district",
    "temporal_start",
    "temporal_end",
    "licence",
    "contact_name",
    "contact_email",
    "contact_phone",
)


# --- reading ---------------------------------------------------------------------------------


def get_entry(session: Session, actor: Actor, key: str | int) -> CatalogEntry:
    """An entry by id, code or URL name; not found when the actor may not see it."""
    require(actor, Permission.CATALOG_ENTRY_READ)
    if isinstance(key, int) or (isinstance(key, str) and key.isdecimal() and int(key) <= MAX_ID):
        entry = repo.entry_by_id(session, actor, int(key))
        if entry is None and isinstance(key, str):
            entry = repo.entry_by_code_or_name(session, actor, key)
    else:
        entry = repo.entry_by_code_or_name(session, actor, key)
    if entry is None:
        raise EntryNotFound(f"数据目录不存在：{key}")
    return entry


def get_resource(session: Session, actor: Actor, resource_id: str) -> CatalogResource:
    require(actor, Permission.CATALOG_ENTRY_READ)
    resource = repo.resource_by_id(session, actor, resource_id)
    if resource is None:
        raise ResourceNotFound(f"资源不存在：{resource_id}")
    return resource


def list_revisions(session: Session, actor: Actor, key: str | int) -> list[EntryRevision]:
    entry = get_entry(session, actor, key)
    require(actor, Permission.CATALOG_REVISION_READ)
    return repo.revisions(session, entry.id)


def list_entry_names(session: Session, actor: Actor) -> list[str]:
    require(actor, Permission.CATALOG_ENTRY_READ)
    return repo.entry_names(session, actor)


def list_tags(session: Session, actor: Actor, prefix: str | None = None) -> list[tuple[str, int]]:
    require(actor, Permission.CATALOG_ENTRY_READ)
    return repo.tag_counts(session, actor, prefix)


def catalogue_stats(session: Session, actor: Actor) -> dict[str, Any]:
    """The figures of the portal's home page: totals and counts by category, department, open type."""
    require(actor, Permission.CATALOG_ENTRY_READ)
    orgs = {o.code: o.name for o in identity.list_organisations(session, actor)}
    return {
        "entries": repo.count_entries(session, actor),
        "by_category": [
            {"value": c, "label": vocab.CATEGORY_BY_CODE[c].label, "count": n}
            for c, n in repo.counts_by(session, actor, "category")
        ],
        "by_organisation": [
            {"value": c, "label": orgs.get(c, c), "count": n} for c, n in repo.counts_by(session, actor, "organisation")
        ],
        "by_open_type": [
            {"value": c, "label": vocab.OPEN_TYPE_BY_CODE[c].label, "count": n}
            for c, n in repo.counts_by(session, actor, "open_type")
        ],
        "by_district": [{"value": c, "label": c, "count": n} for c, n in repo.counts_by(session, actor, "district")],
    }


# --- search ----------------------------------------------------------------------------------


FACETS = repo.FACETS
SORTS = tuple(search.SORT_KEYS)


@dataclass
class SearchQuery:
    q: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    sort: str = ""
    offset: int = 0
    limit: int = 20
    facets: tuple[str, ...] = FACETS
    facet_limit: int = 50
    load_entries: bool = True  # also load the result entries from the database (ORM objects)
    with_fields: bool = False  # ... with their fields


@dataclass
class SearchResult:
    count: int
    summaries: list[EntrySummary]  # served from the search index
    entries: list[CatalogEntry]  # loaded only when the query asks (load_entries)
    scores: list[int]
    facets: dict[str, list[tuple[str, str, int]]]  # facet → [(value, label, count)]
    sort: str
    terms: list[str]


_FILTER_VOCAB = {
    "category": vocab.CATEGORIES,
    "open_type": vocab.OPEN_TYPES,
    "security_grade": vocab.SECURITY_GRADES,
    "update_frequency": vocab.UPDATE_FREQUENCIES,
}
_LABELS = {name: vocab.by_code(terms) for name, terms in _FILTER_VOCAB.items()}


def _normalise_filters(filters: dict[str, list[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, values in filters.items():
        if name not in FACETS:
            raise InvalidSearch(f"不支持的筛选条件：{name}（可用：{'、'.join(FACETS)}）", field=name)
        clean = [v for v in (v.strip() for v in values) if v]
        if name in _FILTER_VOCAB:
            codes = []
            for v in clean:
                code = vocab.resolve(_FILTER_VOCAB[name], v)
                if code is None:
                    raise InvalidSearch(f"筛选条件 {name} 的取值未知：{v}", field=name)
                codes.append(code)
            clean = codes
        if clean:
            out[name] = clean
    return out


def search_entries(session: Session, actor: Actor, query: SearchQuery, max_rows: int = 1000) -> SearchResult:
    """Full-text search in Chinese over the catalogue, with filters, facets, sorting and paging.

    Every query word must match (AND). Relevance is an integer (Σ field weight × term frequency ×
    idf); ties break on modification time, then code. Filters are OR within one facet and AND across
    facets (tags: every tag given must be present). The same results on every database backend.
    """
    require(actor, Permission.CATALOG_ENTRY_READ)
    if query.limit < 0 or query.limit > max_rows:
        raise InvalidSearch(f"每页条数应在 0 至 {max_rows} 之间", field="limit")
    if query.offset < 0:
        raise InvalidSearch("起始位置不能为负数", field="offset")
    for facet in query.facets:
        if facet not in FACETS:
            raise InvalidSearch(f"不支持的分面：{facet}（可用：{'、'.join(FACETS)}）", field="facet")
    filters = _normalise_filters(query.filters)
    terms = text.query_terms(query.q) if query.q.strip() else []
    sort_name = query.sort or ("relevance" if terms else "modified_desc")
    if sort_name not in SORTS:
        raise InvalidSearch(f"不支持的排序：{sort_name}（可用：{'、'.join(SORTS)}）", field="sort")
    if query.q.strip() and not terms:  # only punctuation
        return SearchResult(0, [], [], [], {f: [] for f in query.facets}, sort_name, [])

    index = search.index_for(session)
    with index.lock:
        index.refresh(session)
        snapshot = index.snapshot()
    hits = snapshot.search(terms, filters, sort_name, query.offset, query.limit, query.facets, query.facet_limit)
    orgs = None
    if "organisation" in hits.facets:
        orgs = identity.organisation_names(session, actor, [v for v, _ in hits.facets["organisation"]])
    facets = {
        name: [(value, facet_label(name, value, orgs), n) for value, n in values]
        for name, values in hits.facets.items()
    }
    entries = repo.entries_by_ids(session, actor, hits.ids, with_fields=query.with_fields) if query.load_entries else []
    return SearchResult(hits.count, hits.summaries, entries, hits.scores, facets, sort_name, terms)


def warm_search_index(session: Session) -> None:
    """Load the process's search index now (at server start) instead of on the first search."""
    index = search.index_for(session)
    with index.lock:
        index.refresh(session)
        index.snapshot()


def facet_label(facet: str, value: str, orgs: dict[str, str] | None = None) -> str:
    if facet in _LABELS:
        term = _LABELS[facet].get(value)
        return term.label if term else value
    if facet == "organisation" and orgs:
        return orgs.get(value, value)
    return value


# --- writing ---------------------------------------------------------------------------------


def _snapshot(entry: CatalogEntry) -> dict[str, Any]:
    snap: dict[str, Any] = {a: _jsonable(getattr(entry, a)) for a in SCALAR_ATTRS}
    snap["organisation"] = entry.organisation.code if entry.organisation else None
    snap["tags"] = sorted(t.tag for t in entry.tags)
    snap["fields"] = [FieldIn.model_validate(f, from_attributes=True).model_dump() for f in entry.fields]
    snap["state"] = entry.state
    return snap


def _jsonable(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


def _record_revision(session: Session, actor: Actor, entry: CatalogEntry, action: str, changes: dict[str, Any]) -> None:
    session.add(
        EntryRevision(
            entry_id=entry.id,
            number=repo.next_revision_number(session, entry.id),
            action=action,
            actor_user_id=actor.user_id,
            actor_name=actor.username or actor.via,
            changes=changes,
        )
    )


def search_weights(
    *,
    title: str,
    tags: Iterable[str],
    category: str,
    organisation_name: str,
    district: str,
    code: str,
    description: str,
    fields: Iterable[tuple[str, str]],
) -> dict[str, int]:
    """An entry's search terms with their weights (title, tags, category, publisher, district, code,
    description, field labels and names). ``fields`` are (label, name) pairs. Shared by
    ``reindex_entry`` and the bulk importer so both index alike."""
    category_term = vocab.CATEGORY_BY_CODE.get(category)
    parts = [
        (title, 8, True),
        (" ".join(tags), 4, True),
        (category_term.label if category_term else "", 2, False),
        (organisation_name, 2, False),
        (district, 2, False),
        (code, 2, False),
        (description, 2, False),
        (" ".join(f"{label} {name}" for label, name in fields), 1, False),
    ]
    return text.weighted_terms(parts)


def reindex_entry(session: Session, entry: CatalogEntry) -> None:
    """Rebuild the entry's search terms (title, tags, category, publisher, description, fields)."""
    weights = search_weights(
        title=entry.title,
        tags=entry.tag_names,
        category=entry.category,
        organisation_name=entry.organisation.name if entry.organisation else "",
        district=entry.district,
        code=entry.code,
        description=entry.description,
        fields=[(f.label, f.name) for f in entry.fields],
    )
    repo.replace_search_terms(session, entry.id, weights)
    entry.index_stamp = new_index_stamp()


def _apply(entry: CatalogEntry, data: EntryCreate | EntryUpdate) -> None:
    given = data.model_dump(exclude_unset=isinstance(data, EntryUpdate))
    for attr in SCALAR_ATTRS:
        if attr in given:
            setattr(entry, attr, given[attr] if given[attr] is not None or attr.startswith("temporal") else "")
    if data.tags is not None:
        entry.tags = [EntryTag(tag=t) for t in data.tags]
    if data.fields is not None:
        # reuse rows by name so a kept field is updated in place, never deleted and re-inserted
        existing = {f.name: f for f in entry.fields}
        rows = []
        for i, f in enumerate(data.fields):
            row = existing.get(f.name) or EntryField()
            for attr, value in f.model_dump().items():
                setattr(row, attr, value)
            row.position = i
            rows.append(row)
        entry.fields = rows
    if entry.temporal_start and entry.temporal_end and entry.temporal_start > entry.temporal_end:
        raise InvalidEntry("时间范围的开始日期晚于结束日期", field="temporal_start")


def _publisher(session: Session, actor: Actor, org_code: str | None) -> int:
    if org_code is None:
        if actor.organisation_id is None:
            raise InvalidEntry("请指定发布部门", field="organisation")
        org_id = actor.organisation_id
        org = identity.get_organisation(session, actor, str(org_id))
    else:
        org = identity.get_organisation(session, actor, org_code)
    if org.kind not in (OrganisationKind.DEPARTMENT, OrganisationKind.OPERATOR):
        raise InvalidEntry(f"发布部门必须是政府部门：{org.name}", field="organisation")
    if org.id != actor.organisation_id and not actor.can(Permission.CATALOG_ENTRY_CURATE):
        raise NotEntryOwner("部门只能为本部门登记数据目录")
    return org.id


def create_entry(session: Session, actor: Actor, data: EntryCreate) -> CatalogEntry:
    require(actor, Permission.CATALOG_ENTRY_CREATE)
    org_id = _publisher(session, actor, data.organisation)
    name = data.name or data.code.lower().replace(".", "-")
    taken = repo.code_taken(session, data.code, name)
    if taken:
        what, value = ("编码", data.code) if taken == "code" else ("名称", name)
        raise DuplicateEntryCode(
            f"数据目录{what}已存在：{value}",
            details=[{"field": taken, "message": "already exists"}],
        )
    entry = CatalogEntry(code=data.code, name=name, organisation_id=org_id)
    _apply(entry, data)
    for i, res in enumerate(data.resources or [ResourceIn(name=data.title)]):
        entry.resources.append(CatalogResource(id=str(uuid.uuid4()), position=i, **res.model_dump()))
    session.add(entry)
    session.flush()
    session.refresh(entry, ["organisation"])
    _record_revision(session, actor, entry, "create", _diff({}, _snapshot(entry)))
    reindex_entry(session, entry)
    session.flush()
    return entry


def _editable(session: Session, actor: Actor, key: str | int, permission: Permission) -> CatalogEntry:
    require(actor, permission)
    entry = get_entry(session, actor, key)
    if entry.organisation_id != actor.organisation_id and not actor.can(Permission.CATALOG_ENTRY_CURATE):
        raise NotEntryOwner(f"无权修改其他部门的数据目录：{entry.code}")
    return entry


def editable_entry(session: Session, actor: Actor, key: str | int) -> CatalogEntry:
    """The entry, if the actor may change it or publish its data (its department, or the operator)."""
    return _editable(session, actor, key, Permission.CATALOG_ENTRY_UPDATE)


def update_entry(session: Session, actor: Actor, key: str | int, data: EntryUpdate) -> CatalogEntry:
    entry = _editable(session, actor, key, Permission.CATALOG_ENTRY_UPDATE)
    given = data.model_dump(exclude_unset=True)
    for required in (
        "title",
        "category",
        "open_type",
        "security_grade",
        "update_frequency",
        "district",
        "licence",
    ):
        if required in given and given[required] is None:
            raise InvalidEntry(f"{required} 不能为空", field=required)
    before = _snapshot(entry)
    _apply(entry, data)
    after = _snapshot(entry)
    changes = _diff(before, after)
    if changes:
        entry.modified_at = utcnow()
        session.flush()
        _record_revision(session, actor, entry, "update", changes)
        reindex_entry(session, entry)
        session.flush()
    return entry


def delete_entry(session: Session, actor: Actor, key: str | int) -> None:
    """Withdraw an entry: it disappears from every listing; its revisions are kept."""
    entry = _editable(session, actor, key, Permission.CATALOG_ENTRY_DELETE)
    entry.state = "deleted"
    entry.modified_at = utcnow()
    entry.index_stamp = new_index_stamp()
    _record_revision(session, actor, entry, "delete", {"state": ["active", "deleted"]})
    session.flush()


def add_resource(session: Session, actor: Actor, key: str | int, data: ResourceIn) -> CatalogResource:
    """Add a resource (table) to an entry the actor may edit; recorded as a revision."""
    entry = _editable(session, actor, key, Permission.CATALOG_ENTRY_UPDATE)
    if any(r.name == data.name for r in entry.resources):
        raise DuplicateResourceName(f"数据目录 {entry.code} 已有名为“{data.name}”的资源", field="name")
    resource = CatalogResource(id=str(uuid.uuid4()), position=len(entry.resources), **data.model_dump())
    entry.resources.append(resource)
    entry.modified_at = utcnow()
    session.flush()
    _record_revision(session, actor, entry, "update", {"resources": [None, data.name]})
    return resource
