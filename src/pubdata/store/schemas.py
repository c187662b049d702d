from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ResourceTableCreate(BaseModel):
    """The table given to a resource: its schema and how many rejected rows refuse a version."""

    table_schema: dict[str, Any] | None = Field(
        default=None,
        alias="schema",
        description="Frictionless Table Schema (with semanticType); derived from the entry's fields when omitted",
    )
    reject_threshold: float = Field(default=0.05, ge=0, le=1)

    model_config = ConfigDict(populate_by_name=True)


class TableCreate(ResourceTableCreate):
    """A table for an entry: the resource the entry declares under ``name`` gets it (its catalogue
    description stays), or a new resource of that name with ``description`` is added."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)


class TableRead(BaseModel):
    resource_id: str
    entry_code: str
    name: str
    table_schema: dict[str, Any] = Field(serialization_alias="schema")
    current_version: int | None
    reject_threshold: float
    created_at: datetime


class VersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    state: str
    source_name: str
    source_format: str
    source_encoding: str | None
    source_bytes: int
    rows_loaded: int
    rows_rejected: int
    quality: dict[str, Any] | None
    created_at: datetime
    published_at: datetime | None
    current: bool = False


class JobRead(BaseModel):
    """A background job and its progress. ``result`` is the load's report (``state`` published or
    refused) once it has succeeded; ``error`` is ``{"code", "message", "details"}`` once it has failed."""

    id: str
    kind: str
    resource_id: str
    state: str = Field(
        description="queued | running | succeeded | failed | dead (interrupted `PUBDATA_JOB_MAX_ATTEMPTS` times: "
        "not retried again; the dead-letter state)"
    )
    stage: str = Field(description="what the job is doing, in Chinese (排队中, 读取, 校验, 写入, 完成…)")
    percent: int = Field(ge=0, le=100)
    rows_so_far: int | None
    bytes_received: int
    source_name: str
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    created_by: str | None = Field(description="username of who started it; null for the command line")
    created_via: str = Field(description="api | portal | cli")
    attempts: int = Field(default=0, description="runs interrupted so far (a worker died): retried with backoff")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
