"""Native REST API for the store: tables (resources with their Table Schema)."""

from __future__ import annotations

from fastapi import APIRouter

from pubdata.api.deps import DB, ActorDep
from pubdata.store import service
from pubdata.store.schemas import TableCreate, TableRead, VersionRead

router = APIRouter(tags=["store"])


@router.post(
    "/entries/{key}/resources",
    response_model=TableRead,
    response_model_by_alias=True,
    status_code=201,
    summary="Add a table to an entry, with its Table Schema",
)
def create_table(key: str, body: TableCreate, session: DB, actor: ActorDep) -> TableRead:
    return service.create_table(session, actor, key, body)


@router.get(
    "/resources/{resource_id}/schema",
    response_model=TableRead,
    response_model_by_alias=True,
    summary="A table's schema and current version",
)
def get_table(resource_id: str, session: DB, actor: ActorDep) -> TableRead:
    return service.get_table(session, actor, resource_id)


@router.get("/resources/{resource_id}/versions", response_model=list[VersionRead], summary="A table's versions")
def list_versions(resource_id: str, session: DB, actor: ActorDep) -> list[VersionRead]:
    return service.list_versions(session, actor, resource_id)


@router.post(
    "/resources/{resource_id}/versions/{number}/current",
    response_model=VersionRead,
    summary="Roll back (or forward) to a published version",
)
def make_current(resource_id: str, number: int, session: DB, actor: ActorDep) -> VersionRead:
    return service.roll_back(session, actor, resource_id, number)
