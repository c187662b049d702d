from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TableCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    table_schema: dict[str, Any] | None = Field(
        default=None,
        alias="schema",
        description="Frictionless Table Schema (with semanticType); derived from the entry's fields when omitted",
    )
    reject_threshold: float = Field(default=0.05, ge=0, le=1)

    model_config = ConfigDict(populate_by_name=True)


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
