"""Native REST API for the store: tables (resources with their Table Schema), versions, quality."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from pubdata.api.deps import DB, ActorDep, Home
from pubdata.api.errors import ERROR_RESPONSES
from pubdata.api.params import VersionNumber
from pubdata.store import read, service
from pubdata.store.quality import report as quality_report
from pubdata.store.query import export
from pubdata.store.schemas import ResourceTableCreate, TableCreate, TableRead, VersionRead

router = APIRouter(tags=["store"], responses=ERROR_RESPONSES)


@router.post(
    "/entries/{key}/resources",
    response_model=TableRead,
    response_model_by_alias=True,
    status_code=201,
    summary="Give an entry a table with its Table Schema: the resource the entry declares under that name, "
    "else a new resource (409 when that resource has a table already)",
)
def create_table(key: str, body: TableCreate, session: DB, actor: ActorDep) -> TableRead:
    return service.create_table(session, actor, key, body)


@router.post(
    "/resources/{resource_id}/schema",
    response_model=TableRead,
    response_model_by_alias=True,
    status_code=201,
    summary="Give an existing resource its table, with its Table Schema (409 when it has one already)",
)
def create_resource_table(resource_id: str, body: ResourceTableCreate, session: DB, actor: ActorDep) -> TableRead:
    return service.create_resource_table(session, actor, resource_id, body)


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
def make_current(resource_id: str, number: VersionNumber, session: DB, actor: ActorDep) -> VersionRead:
    return service.roll_back(session, actor, resource_id, number)


class DimensionWords(BaseModel):
    name: str
    label: str
    score: float | None
    text: str


class TrendPoint(BaseModel):
    version: int
    published_at: str
    rows: int
    score: float | None
    dimensions: dict[str, float | None]


class QualityRead(BaseModel):
    resource_id: str
    name: str
    current_version: int | None
    rows: int | None = Field(description="Rows of the current version")
    score: float | None = Field(description="Overall score of the current version, timeliness as of now")
    report: dict[str, Any] | None = Field(description="The current version's report (see docs/store.md)")
    dimensions: list[DimensionWords] = Field(description="The six dimensions in Chinese words")
    trend: list[TrendPoint] = Field(description="Score of each published version as measured at its load")


@router.get("/resources/{resource_id}/quality", response_model=QualityRead, summary="A table's quality and its trend")
def get_quality(resource_id: str, session: DB, actor: ActorDep) -> dict[str, Any]:
    return quality_report.table_quality(session, actor, resource_id).as_json()


def _stream_with_bom(chunks: Iterator[bytes]) -> Iterator[bytes]:
    yield codecs.BOM_UTF8  # so Excel opens the Chinese reasons correctly
    yield from chunks


@router.get(
    "/resources/{resource_id}/versions/{number}/rejects.csv",
    response_class=StreamingResponse,
    summary="A version's rejected values (row, column, value, reason); the entry's department and the operator "
    "only (never a grant holder or the public, even for open data); every read and refusal is audited",
)
def get_rejects(resource_id: str, number: VersionNumber, session: DB, actor: ActorDep, home: Home) -> StreamingResponse:
    rejects = read.plan_rejects(session, actor, resource_id, number, home=home)
    return StreamingResponse(
        _stream_with_bom(export.spreadsheet_safe_csv(rejects.chunks())),  # for Excel: formula cells neutralised
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="rejects-{resource_id}-v{number}.csv"'},
    )
