"""Native REST API for reading the store's rows: row queries, downloads, SQL, datapackage.json.
Everything goes through the store's read path (``store.read.plan_read``)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from pubdata.api.deps import DB, ActorDep, Home
from pubdata.errors import Invalid
from pubdata.store import export, query, sandbox, sql
from pubdata.store.query import RowPage, RowQuery

router = APIRouter(tags=["rows"])

ROWS_FORMATS = ("json", "csv", "parquet")


def rows_response(page: RowPage, fmt: str, request: Request) -> Response:
    """A page of rows as JSON (with fields, total and the next page's link), CSV or Parquet."""
    name = f"{page.plan.entry_name}-{page.plan.resource_name}-v{page.plan.version}"
    if fmt == "csv":
        return Response(page.csv_bytes(), media_type="text/csv; charset=utf-8", headers=_attachment(name + ".csv"))
    if fmt == "parquet":
        return Response(
            page.parquet_bytes(), media_type=export.FORMATS["parquet"], headers=_attachment(name + ".parquet")
        )
    next_url = None
    if page.next_cursor:
        params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("cursor", "offset")]
        next_url = str(request.url.replace_query_params(**dict(params), cursor=page.next_cursor))
    body: dict[str, Any] = {
        "resource_id": page.plan.resource_id,
        "version": page.plan.version,
        "fields": [{"name": c.name, "type": c.type, "title": c.title} for c in page.columns],
        "records": page.records(),
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
        "next_cursor": page.next_cursor,
        "_links": {"next": next_url},
    }
    return JSONResponse(body)


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"}


@router.get(
    "/resources/{resource_id}/rows",
    summary="Query a table's rows",
    description=(
        "Filters are query parameters: `field=value` (equality) or `field__op=value` with op in "
        "eq, ne, gt, gte, lt, lte, in (comma-separated), prefix, isnull. `q`: words that must each appear "
        "in some text column. `sort=a,-b`. Page with `limit`/`offset`, or follow `next_cursor` (keyset). "
        "`total=true` adds the exact count (cached per version and filter). `format`: json, csv, parquet."
    ),
)
def rows(
    resource_id: str,
    request: Request,
    session: DB,
    actor: ActorDep,
    home: Home,
    fields: str | None = None,
    sort: str | None = None,
    q: str | None = None,
    limit: int = 100,
    offset: int = 0,
    cursor: str | None = None,
    total: bool = False,
    version: int | None = None,
    format: str = "json",
) -> Response:
    if format not in ROWS_FORMATS:
        raise Invalid(f"不支持的输出格式：{format}（可用：json、csv、parquet）", field="format")
    spec = RowQuery(
        filters=query.filters_from_params(request.query_params.multi_items()),
        q=q,
        fields=query.fields_from_param(fields),
        sort=query.sort_from_param(sort),
        limit=limit,
        offset=offset,
        cursor=cursor,
        include_total=total,
        version=version,
    )
    page = query.read_rows(session, actor, resource_id, spec, home=home)
    return rows_response(page, format, request)


@router.get("/resources/{resource_id}/download.{fmt}", summary="Download a whole table (csv, parquet, jsonl)")
def download(
    resource_id: str, fmt: str, session: DB, actor: ActorDep, home: Home, version: int | None = None
) -> Response:
    result = export.download(session, actor, resource_id, fmt, version=version, home=home)
    return StreamingResponse(result.chunks, media_type=result.media_type, headers=_attachment(result.filename))


@router.get("/entries/{key}/datapackage.json", summary="Frictionless Data Package of an entry")
def datapackage(key: str, request: Request, session: DB, actor: ActorDep) -> dict[str, Any]:
    return export.datapackage(session, actor, key, base_url=request.app.state.settings.base_url.rstrip("/"))


def sql_response(result: sql.SqlResult) -> dict[str, Any]:
    return {
        "sql": result.sql,
        "fields": [{"name": f.name, "type": str(f.type)} for f in result.table.schema],
        "records": query.records_of(result.table),
        "records_truncated": result.truncated,
        "resources": [{"resource_id": p.resource_id, "version": p.version} for p in result.resources],
    }


@router.get("/sql", summary="Read-only SQL over the tables you may read")
def sql_get(session: DB, actor: ActorDep, home: Home, sql_text: Annotated[str, Query(alias="sql")]) -> dict[str, Any]:
    return sql_response(sql.run_sql(session, actor, sql_text, home=home))


@router.post(
    "/sql",
    summary="Read-only SQL over the tables you may read",
    description='Body `{"sql": "SELECT … FROM "<resource id>" …"}` (PostgreSQL syntax); a SELECT only, '
    "checked against an allow-list, under a time limit and a row limit.",
)
def sql_post(
    session: DB, actor: ActorDep, home: Home, sql_text: Annotated[str, Body(alias="sql", embed=True)]
) -> dict[str, Any]:
    return sql_response(sql.run_sql(session, actor, sql_text, home=home))


@router.post(
    "/resources/{resource_id}/sandbox",
    summary="Privacy sandbox: aggregates only (small groups suppressed; optional differential privacy)",
    description="Body: `{measures: [{fn: count|sum|avg|stddev|quantile, field, q, bounds}], group_by: [≤2 fields], "
    "filters: {field: value or [values]}, dp: {epsilon}}`. `dry_run=true` checks the query and returns the ε it "
    "would spend, without running it.",
)
def sandbox_query(
    resource_id: str, body: sandbox.SandboxQuery, session: DB, actor: ActorDep, home: Home, dry_run: bool = False
) -> dict[str, Any]:
    return sandbox.run(session, actor, resource_id, body, home=home, dry_run=dry_run).as_json()
