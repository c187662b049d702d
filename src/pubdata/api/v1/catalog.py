"""Native REST API for the catalogue: entries CRUD, search with facets, revisions, resources."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from pubdata.api.deps import DB, ActorDep, CatalogFilters, Filters
from pubdata.api.errors import ERROR_RESPONSES
from pubdata.api.params import Offset, enum_item, enum_of
from pubdata.catalog import service, vocab
from pubdata.catalog.schemas import (
    EntryCreate,
    EntryRead,
    EntryUpdate,
    FacetValue,
    ResourceRead,
    RevisionRead,
    SearchPage,
    entry_read,
)
from pubdata.settings import get_settings

router = APIRouter(tags=["catalogue"], responses=ERROR_RESPONSES)
FacetParam = Annotated[
    list[Annotated[str, enum_item(("", *service.FACETS))]] | None,
    Query(description="Repeatable; default every facet, `facet=` none"),
]


def _search_query(
    q: str, filters: CatalogFilters, facet: list[str] | None, facet_limit: int, **page: Any
) -> service.SearchQuery:
    facets = tuple(f for f in facet if f) if facet is not None else service.FACETS  # facet= asks for none
    return service.SearchQuery(
        q=q, filters=filters.values, facets=facets, facet_limit=facet_limit, load_entries=False, **page
    )


def _facets(result: service.SearchResult) -> dict[str, list[FacetValue]]:
    return {
        name: [FacetValue(value=v, label=label, count=n) for v, label, n in values]
        for name, values in result.facets.items()
    }


@router.get("/entries", response_model=SearchPage, summary="Search the catalogue")
def search_entries(
    session: DB,
    actor: ActorDep,
    filters: Filters,
    q: str = Query("", max_length=200, description="Chinese or English words; every word must match"),
    sort: str = Query(
        "", description="Default relevance (with q) or modified_desc", json_schema_extra=enum_of(("", *service.SORTS))
    ),
    offset: Offset = 0,
    limit: int = Query(20, ge=0, le=1000),
    facet: FacetParam = None,
    facet_limit: int = Query(50, ge=-1, le=1000),
) -> Response:
    query = _search_query(q, filters, facet, facet_limit, sort=sort, offset=offset, limit=limit)
    result = service.search_entries(session, actor, query, get_settings().search_max_rows)
    page = SearchPage(
        count=result.count,
        offset=offset,
        limit=limit,
        sort=result.sort,
        results=result.summaries,
        facets=_facets(result),
    )
    # already a validated SearchPage: serialise once instead of letting FastAPI re-validate it
    return Response(page.model_dump_json(), media_type="application/json")


@router.get("/facets", response_model=dict[str, list[FacetValue]], summary="Facet counts for a search")
def facets(
    session: DB,
    actor: ActorDep,
    filters: Filters,
    q: str = Query("", max_length=200),
    facet: FacetParam = None,
    facet_limit: int = Query(50, ge=-1, le=1000),
) -> dict[str, list[FacetValue]]:
    query = _search_query(q, filters, facet, facet_limit, limit=0)
    return _facets(service.search_entries(session, actor, query))


@router.post("/entries", response_model=EntryRead, status_code=201, summary="Register a catalogue entry")
def create_entry(body: EntryCreate, session: DB, actor: ActorDep) -> EntryRead:
    return entry_read(service.create_entry(session, actor, body))


@router.get("/entries/{key}", response_model=EntryRead, summary="One entry by id, code or name")
def get_entry(key: str, session: DB, actor: ActorDep) -> EntryRead:
    return entry_read(service.get_entry(session, actor, key))


@router.patch("/entries/{key}", response_model=EntryRead, summary="Edit an entry (partial)")
def update_entry(key: str, body: EntryUpdate, session: DB, actor: ActorDep) -> EntryRead:
    return entry_read(service.update_entry(session, actor, key, body))


@router.delete("/entries/{key}", status_code=204, summary="Withdraw an entry")
def delete_entry(key: str, session: DB, actor: ActorDep) -> Response:
    service.delete_entry(session, actor, key)
    return Response(status_code=204)


@router.get("/entries/{key}/revisions", response_model=list[RevisionRead], summary="Change history")
def revisions(key: str, session: DB, actor: ActorDep) -> list[RevisionRead]:
    return [RevisionRead.model_validate(r) for r in service.list_revisions(session, actor, key)]


@router.get("/resources/{resource_id}", response_model=ResourceRead, summary="One resource (table)")
def get_resource(resource_id: str, session: DB, actor: ActorDep) -> ResourceRead:
    return ResourceRead.model_validate(service.get_resource(session, actor, resource_id))


class VocabularyTerm(BaseModel):
    code: str
    label: str
    description: str = ""


@router.get("/vocabularies", summary="Categories, open types, grades, frequencies, districts")
def vocabularies() -> dict[str, Any]:
    def terms(ts: tuple[vocab.Term, ...]) -> list[VocabularyTerm]:
        return [VocabularyTerm(code=t.code, label=t.label, description=t.description) for t in ts]

    return {
        "categories": terms(vocab.CATEGORIES),
        "open_types": terms(vocab.OPEN_TYPES),
        "security_grades": terms(vocab.SECURITY_GRADES),
        "update_frequencies": terms(vocab.UPDATE_FREQUENCIES),
        "districts": list(vocab.SPATIAL_COVERAGES),
        "personal_kinds": terms(vocab.PERSONAL_KINDS),
        "field_types": list(vocab.FIELD_TYPES),
    }


@router.get("/stats", summary="Catalogue figures: totals and counts by category, department, open type")
def stats(session: DB, actor: ActorDep) -> dict[str, Any]:
    return service.catalogue_stats(session, actor)
