from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pubdata.jobs.schemas import JobRead as PlatformJobRead


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


# a job of the store is a job of the platform (``pubdata.jobs``), kind ``ingest``
JobRead = PlatformJobRead
