"""The resource page: a table's schema, a preview of its rows (search, one filter, paging by cursor)
read through the store's read path, downloads, the Data Package, and how to reach it by API. A
declared resource without a table gets the page that says so and offers its publisher the form
giving it one (``store_pages.table_form_page``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from pubdata.api.deps import DB, Home
from pubdata.catalog import service as catalog
from pubdata.catalog.schemas import entry_read
from pubdata.errors import Forbidden, Invalid, NotFound, RateLimited
from pubdata.store import service as store
from pubdata.store import table_schema
from pubdata.store.errors import TableNotFound
from pubdata.store.query import rows as query
from pubdata.store.query.rows import Filter, RowQuery
from pubdata.store.read import has_row_access
from pubdata.web import store_pages
from pubdata.web.catalog_pages import is_htmx_partial
from pubdata.web.deps import ViewerDep
from pubdata.web.templating import render

router = APIRouter(include_in_schema=False)

PREVIEW_ROWS = 20
FILTER_OPS = {
    "eq": "等于", "ne": "不等于", "prefix": "开头是", "gt": "大于", "gte": "不小于", "lt": "小于", "lte": "不大于",
}  # fmt: skip


@router.get("/dataset/{key}/resource/{resource_id}", response_class=HTMLResponse)
def resource_page(
    request: Request, key: str, resource_id: str, session: DB, viewer: ViewerDep, home: Home
) -> HTMLResponse:
    entry = catalog.get_entry(session, viewer.actor, key)
    resource = catalog.get_resource(session, viewer.actor, resource_id)
    if resource.entry_id != entry.id:
        raise NotFound(f"资源不属于该数据目录：{resource_id}")
    try:
        table = store.get_table(session, viewer.actor, resource_id)
    except TableNotFound:  # declared in the catalogue, no table yet: its publisher may give it one here
        return store_pages.table_form_page(request, session, viewer, entry, resource)
    schema = table_schema.parse_schema(table.table_schema)
    params = request.query_params
    form = {
        "q": params.get("q", "").strip(),
        "f": params.get("f", ""),
        "op": params.get("op", "eq") if params.get("op") in FILTER_OPS else "eq",
        "v": params.get("v", "").strip(),
        "sort": params.get("sort", ""),
    }
    readable = has_row_access(session, viewer.actor, entry, resource_id)
    preview: dict[str, Any] = {"readable": readable, "error": None, "page": None}
    if preview["readable"] and table.current_version is not None:
        filters = [Filter(form["f"], form["op"], form["v"])] if form["f"] and form["v"] else []
        spec = RowQuery(
            filters=filters,
            q=form["q"] or None,
            sort=query.sort_from_param(form["sort"]) if form["sort"] else [],
            limit=PREVIEW_ROWS,
            cursor=params.get("cursor") or None,
            include_total=True,
        )
        try:
            preview["page"] = query.read_rows(session, viewer.actor, resource_id, spec, home=home)
        except Forbidden:
            preview["readable"] = False
        except (Invalid, RateLimited) as exc:  # a spent quota leaves the page readable, says why
            preview["error"] = exc.message
    page = preview["page"]
    base = f"/dataset/{entry.name}/resource/{resource_id}"
    kept = {k: v for k, v in form.items() if v and not (k == "op" and v == "eq")}
    context = {
        "nav": "dataset",
        "entry": entry_read(entry),
        "resource": resource,
        "table": table,
        "fields": table_schema.describe(schema),
        "form": form,
        "ops": FILTER_OPS,
        "preview": preview,
        "records": page.records() if page else [],
        "columns": page.columns if page else [],
        "base_url": base,
        "first_url": f"{base}?{urlencode(kept)}",
        "next_url": f"{base}?{urlencode({**kept, 'cursor': page.next_cursor})}" if page and page.next_cursor else None,
        "api_base": str(request.base_url).rstrip("/"),
    }
    if is_htmx_partial(request):  # the form and the pager swap only the rows region
        return render(request, "dataset/_rows.html", context)
    return render(request, "dataset/resource.html", context)
