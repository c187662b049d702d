"""The privacy sandbox page of a table: build an aggregate query (a measure, up to two groupings,
differential privacy — always on personal or health data for a grantee), see what it costs, run it,
and read the result as a table and a chart. Only aggregates are ever shown (store/query/sandbox.py decides
what may be released)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from pubdata.api.deps import DB, Home
from pubdata.catalog import service as catalog
from pubdata.errors import NotFound, PubdataError
from pubdata.store import service as store
from pubdata.store import table_schema
from pubdata.store.query import sandbox
from pubdata.web import csrf
from pubdata.web.deps import ViewerDep
from pubdata.web.templating import Viewer, render

router = APIRouter(include_in_schema=False)
MEASURES = {"count": "计数", "sum": "求和", "avg": "平均值", "stddev": "标准差", "quantile": "中位数"}


def _context(session: DB, viewer: Viewer, name: str, rid: str) -> dict[str, Any]:
    entry = catalog.get_entry(session, viewer.actor, name)
    resource = catalog.get_resource(session, viewer.actor, rid)
    if resource.entry_id != entry.id:
        raise NotFound(f"资源不属于该数据目录：{rid}")
    fields = table_schema.describe(table_schema.parse_schema(store.get_table(session, viewer.actor, rid).table_schema))
    identifiers = sandbox.IDENTIFIER_KINDS
    return {
        "nav": "dataset",
        "entry": entry,
        "resource": resource,
        "group_fields": [f for f in fields if f["personal_kind"] not in identifiers],
        "numeric_fields": [f for f in fields if f["type"] in sandbox.NUMERIC and f["personal_kind"] not in identifiers],
        "measures": MEASURES,
        "form": {"fn": "count", "field": "", "g1": "", "g2": "", "epsilon": ""},
        "result": None,
        "error": None,
        "url": f"/dataset/{entry.name}/resource/{rid}/sandbox",
    }


@router.get("/dataset/{name}/resource/{rid}/sandbox", response_class=HTMLResponse)
def sandbox_page(request: Request, name: str, rid: str, session: DB, viewer: ViewerDep) -> HTMLResponse:
    return render(request, "dataset/sandbox.html", _context(session, viewer, name, rid))


@router.post("/dataset/{name}/resource/{rid}/sandbox", response_class=HTMLResponse)
async def sandbox_run(request: Request, name: str, rid: str, session: DB, viewer: ViewerDep, home: Home) -> Response:
    if not viewer.signed_in:
        return RedirectResponse("/user/login?next=" + quote(request.url.path), status_code=303)
    form = {k: str(v) for k, v in (await request.form()).items()}
    csrf.check_session_token(viewer.csrf_token, form.get("csrf_token"))
    context = _context(session, viewer, name, rid)
    context["form"].update(form)
    fn = form.get("fn", "count")
    measure: dict[str, Any] = {"fn": fn}
    if fn != "count":
        measure["field"] = form.get("field") or None
    if fn == "quantile":
        measure["q"] = 0.5
    body: dict[str, Any] = {
        "measures": [{"fn": "count"}, measure] if fn != "count" else [measure],
        "group_by": [g for g in (form.get("g1"), form.get("g2")) if g],
    }
    if form.get("epsilon"):
        body["dp"] = {"epsilon": form["epsilon"]}
    if fn != "count" and (form.get("low") or form.get("high")):  # noisy answers clamp to them
        measure["bounds"] = [form.get("low") or "0", form.get("high") or "0"]
    try:
        query = sandbox.SandboxQuery.model_validate(body)
        result = sandbox.run(session, viewer.actor, rid, query, home=home, dry_run=form.get("action") == "estimate")
    except ValidationError as exc:
        context["error"] = "查询条件无效：" + "；".join(str(e["msg"]) for e in exc.errors())
        return render(request, "dataset/sandbox.html", context, status_code=422)
    except PubdataError as exc:
        if exc.status >= 500:
            raise
        context["error"] = exc.message
        return render(request, "dataset/sandbox.html", context, status_code=exc.status)
    context["result"] = result.as_json()
    context["dry_run"] = form.get("action") == "estimate"
    return render(request, "dataset/sandbox.html", context)
