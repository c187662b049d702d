"""Parameter types shared by the native API's routes.

Integers that reach the database are 64-bit there (SQLite INTEGER, PostgreSQL BIGINT): a larger value
would fail inside the driver (``OverflowError``, a 500). Every integer path or query parameter is
declared with these types, so an out-of-range value is refused by validation (422, in Chinese) and
the OpenAPI document states the bound. tests/test_openapi_contract.py checks every route."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import WithJsonSchema

DB_INT_MAX = 2**63 - 1  # SQLite INTEGER and PostgreSQL BIGINT: offsets and limits
DB_ID_MAX = 2**31 - 1  # ids and version numbers: PostgreSQL INTEGER columns (a larger value was a 500 there)

DbId = Annotated[int, Path(ge=1, le=DB_ID_MAX, description="Database id (1 … 2^31−1)")]
"""A database id in the path (``/applications/{application_id}``)."""

VersionNumber = Annotated[int, Path(ge=1, le=DB_ID_MAX, description="Version number (1 … 2^31−1)")]

Offset = Annotated[int, Query(ge=0, le=DB_INT_MAX, description="Items to skip")]

OptionalDbIdQuery = Annotated[int | None, Query(ge=1, le=DB_ID_MAX)]
OptionalVersionQuery = Annotated[
    int | None, Query(ge=1, le=DB_ID_MAX, description="A published version; default the current one")
]


def enum_of(values: Any) -> dict[str, Any]:
    """``json_schema_extra`` declaring a query parameter's fixed list as an enum in the OpenAPI
    document, while the service keeps checking it (and naming the choices in Chinese)."""
    return {"enum": list(values)}


def enum_item(values: Any) -> WithJsonSchema:
    """``Annotated[str, enum_item(...)]``: a string item of a repeatable query parameter
    (``list[...]``) whose fixed list the OpenAPI document declares as the items' enum, while the
    service keeps checking it (and naming the choices in Chinese)."""
    return WithJsonSchema({"type": "string", "enum": list(values)})
