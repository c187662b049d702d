"""Portal pages for publishing data: giving a declared resource its table, the upload form of a
resource, and the page that follows its ingest job (htmx polls a small partial every second until
the job ends).

A resource the catalogue declares holds rows only once it has a table. Its resource page says so and,
to its publisher, offers a form pre-filled with the Table Schema the store proposes from the entry's
declared fields (``store.proposed_schema``); the form posts to ``…/schema``, which gives the table
through ``store.create_resource_table`` (the same owner-or-operator rule as the API and the CLI) and
then leads to the upload form.

Only the entry's department or the operator may upload (``jobs.check_may_load``, the same rule as
the API); visitors who are not signed in are sent to the sign-in page. The form is CSRF-protected
with the login session's token, which must come before the file in the multipart body: it is checked
as soon as the file part begins, before any of the file is written.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from pubdata.api.deps import DB
from pubdata.api.v1.jobs import receive_file, waker
from pubdata.catalog import service as catalog
from pubdata.catalog.errors import ResourceNotFound
from pubdata.catalog.schemas import entry_read
from pubdata.errors import Forbidden, Invalid, NotFound, Unauthenticated
from pubdata.settings import Settings
from pubdata.store import service as store
from pubdata.store import table_schema
from pubdata.store.errors import TableNotCreated
from pubdata.store.ingest.load import FORMATS
from pubdata.store.jobs import queue as jobs
from pubdata.store.schemas import JobRead, ResourceTableCreate
from pubdata.web import csrf
from pubdata.web.access_forms import attempt
from pubdata.web.catalog_pages import is_htmx_partial
from pubdata.web.deps import ViewerDep
from pubdata.web.templating import Viewer, render

if TYPE_CHECKING:
    from pubdata.catalog.models import CatalogEntry, CatalogResource

router = APIRouter(include_in_schema=False)

FormStr = Annotated[str, Form()]
NO_STORE = {"Cache-Control": "no-store"}
DEFAULT_REJECT_PERCENT = "5"  # ResourceTableCreate's default threshold (0.05), as the form shows it
STATE_LABELS = {"queued": "排队中", "running": "处理中", "succeeded": "已完成", "failed": "失败", "dead": "已停止重试"}


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def _login_redirect(request: Request, target: str | None = None) -> RedirectResponse:
    return RedirectResponse("/user/login?next=" + quote(target or request.url.path), status_code=303)


def _entry_resource(session: Session, viewer: Viewer, name: str, rid: str) -> tuple[CatalogEntry, CatalogResource]:
    """The entry and its resource, if the viewer may load versions of it."""
    entry = catalog.get_entry(session, viewer.actor, name)
    resource = catalog.get_resource(session, viewer.actor, rid)
    if resource.entry_id != entry.id:
        raise ResourceNotFound(f"数据目录 {entry.code} 没有资源 {rid}")
    jobs.check_may_load(session, viewer.actor, rid)
    return entry, resource


def _page_context(entry: CatalogEntry, resource: CatalogResource) -> dict[str, Any]:
    return {
        "entry": {"name": entry.name, "code": entry.code, "title": entry.title},
        "resource": {"id": resource.id, "name": resource.name},
        "upload_url": f"/dataset/{entry.name}/resource/{resource.id}/upload",
        "formats": "、".join(sorted(FORMATS)),
        "accept": ",".join(sorted(FORMATS)),
        "state_labels": STATE_LABELS,
    }


def _upload_form(
    request: Request,
    session: Session,
    viewer: Viewer,
    entry: CatalogEntry,
    resource: CatalogResource,
    *,
    error: str | None = None,
    status_code: int = 200,
    created: bool = False,
) -> HTMLResponse:
    context = _page_context(entry, resource)
    context.update(
        created=created,
        error=error,
        limit_mb=f"{_settings(request).upload_max_bytes / 1024**2:,.0f}",
        recent=jobs.list_jobs(session, viewer.actor, resource.id, limit=10),
    )
    return render(request, "store/upload.html", context, status_code=status_code, headers=NO_STORE)


@router.get("/dataset/{name}/resource/{rid}/upload", response_class=HTMLResponse)
def upload_page(request: Request, name: str, rid: str, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return _login_redirect(request)
    try:
        entry, resource = _entry_resource(session, viewer, name, rid)
    except TableNotCreated:  # its publisher, before the table: the resource page offers the form
        return RedirectResponse(f"/dataset/{name}/resource/{rid}#new-table", status_code=303)
    return _upload_form(request, session, viewer, entry, resource, created=request.query_params.get("table") == "new")


# --- giving a declared resource its table ----------------------------------------------------------


def _resource_url(entry: CatalogEntry, resource: CatalogResource) -> str:
    return f"/dataset/{entry.name}/resource/{resource.id}"


def _proposal(session: Session, viewer: Viewer, resource: CatalogResource) -> dict[str, Any] | None:
    """The proposed schema if the viewer may give the resource its table through a portal form."""
    if not viewer.csrf_token:  # visitors, and API tokens on a page: no forms
        return None
    try:
        return store.proposed_schema(session, viewer.actor, resource.id)
    except (Forbidden, Unauthenticated):
        return None


def table_form_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    entry: CatalogEntry,
    resource: CatalogResource,
    *,
    schema_text: str | None = None,
    reject_percent: str = DEFAULT_REJECT_PERCENT,
    error: str | None = None,
    problems: list[str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The page of a resource that has no table yet: says so to everyone; to its publisher (the
    entry's department or the operator) it offers the form giving it one, pre-filled with the
    proposed schema (or with what they posted, and why it was refused)."""
    proposal = _proposal(session, viewer, resource)
    proposed_fields: list[dict[str, Any]] = []
    proposal_problem = None
    if proposal is not None:
        try:
            proposed_fields = table_schema.describe(table_schema.parse_schema(proposal))
        except Invalid as exc:  # no declared fields, or fields that make no valid schema
            proposal_problem = exc.message
        if schema_text is None:
            schema_text = json.dumps(proposal, ensure_ascii=False, indent=2)
    context = {
        "nav": "dataset",
        "entry": entry_read(entry),
        "resource": resource,
        "resource_url": _resource_url(entry, resource),
        "form_offered": proposal is not None,
        "action_url": f"{_resource_url(entry, resource)}/schema",
        "schema_text": schema_text or "",
        "reject_percent": reject_percent,
        "proposed_fields": proposed_fields,
        "declared_count": len(proposal["fields"]) if proposal else 0,
        "proposal_problem": proposal_problem,
        "error": error,
        "problems": problems or [],
    }
    headers = NO_STORE if proposal is not None else None
    return render(request, "store/new_table.html", context, status_code=status_code, headers=headers)


def _parse_form(schema_text: str, reject_percent: str) -> ResourceTableCreate:
    """The posted schema and threshold, or ``Invalid`` naming in Chinese what is wrong with them."""
    text = schema_text.strip()
    if not text:
        raise Invalid("表结构不能为空：请填写 Table Schema（JSON），或刷新页面使用按目录字段生成的建议", field="schema")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid(
            f"表结构不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列附近有语法错误（检查引号、逗号和括号是否成对）",
            field="schema",
        ) from None
    if not isinstance(data, dict):
        raise Invalid("表结构应为 JSON 对象（以 { 开头，含 fields 字段列表）", field="schema")
    try:
        percent = float(reject_percent.strip().rstrip("%").strip() or DEFAULT_REJECT_PERCENT)
    except ValueError:
        percent = -1.0
    if not 0 <= percent <= 100:  # also refuses nan
        raise Invalid(f"拒收阈值应为 0 到 100 之间的百分数，实为“{reject_percent}”", field="reject_threshold")
    return ResourceTableCreate(schema=data, reject_threshold=percent / 100)


@router.post("/dataset/{name}/resource/{rid}/schema", response_class=HTMLResponse)
def new_table_submit(
    request: Request,
    name: str,
    rid: str,
    session: DB,
    viewer: ViewerDep,
    csrf_token: FormStr = "",
    table_schema_json: FormStr = "",
    reject_percent: FormStr = DEFAULT_REJECT_PERCENT,
) -> Response:
    """Give the resource its table with the posted schema, then go on to the upload form. Refused as
    the store service refuses (403 another organisation, 409 a table already there); a bad schema
    shows the page again with every problem named, and nothing is written."""
    if not viewer.signed_in:
        return _login_redirect(request, f"/dataset/{name}/resource/{rid}")
    csrf.check_session_token(viewer.csrf_token, csrf_token)  # an API token on a page has none
    entry = catalog.get_entry(session, viewer.actor, name)
    resource = catalog.get_resource(session, viewer.actor, rid)
    if resource.entry_id != entry.id:
        raise NotFound(f"资源不属于该数据目录：{rid}")
    store.check_may_create_table(session, viewer.actor, rid)  # refused before the form is read
    try:
        data = _parse_form(table_schema_json, reject_percent)
        attempt(session, lambda: store.create_resource_table(session, viewer.actor, rid, data))
    except Invalid as exc:
        details = exc.details if isinstance(exc.details, list) else []
        problems = [str(p["message"]) for p in details if isinstance(p, dict) and "message" in p]
        return table_form_page(
            request,
            session,
            viewer,
            entry,
            resource,
            schema_text=table_schema_json,
            reject_percent=reject_percent,
            error=exc.message,
            problems=problems if len(problems) > 1 else [],
            status_code=exc.status,
        )
    return RedirectResponse(f"{_resource_url(entry, resource)}/upload?table=new", status_code=303)


@router.post("/dataset/{name}/resource/{rid}/upload", response_class=HTMLResponse)
async def upload_submit(request: Request, name: str, rid: str, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return _login_redirect(request)
    if not viewer.csrf_token:  # an API token on a page: no forms
        raise csrf.CsrfFailed(csrf.CSRF_MESSAGE)
    settings = _settings(request)
    entry, resource = await run_in_threadpool(_entry_resource, session, viewer, name, rid)
    upload = await run_in_threadpool(jobs.begin_upload, session, viewer.actor, rid, settings.resolved_home)

    def check_csrf(fields: dict[str, str]) -> None:
        csrf.check_session_token(viewer.csrf_token, fields.get("csrf_token"))

    try:
        received = await receive_file(
            request, upload.directory, limit=settings.upload_max_bytes, before_file=check_csrf, multipart_only=True
        )
        job = await run_in_threadpool(
            lambda: jobs.queue_ingest(
                session,
                viewer.actor,
                upload,
                path=received.path,
                source_name=received.source_name,
                via="portal",
                on_commit=waker(request),
            )
        )
    except (jobs.InvalidUpload, jobs.UploadTooLarge) as exc:
        jobs.discard_upload(upload)
        message, status = exc.message, exc.status
        return await run_in_threadpool(
            lambda: _upload_form(request, session, viewer, entry, resource, error=message, status_code=status)
        )
    except BaseException:
        jobs.discard_upload(upload)
        raise
    return RedirectResponse(f"/dataset/{entry.name}/resource/{rid}/upload/{job.id}", status_code=303)


@router.get("/dataset/{name}/resource/{rid}/upload/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, name: str, rid: str, job_id: str, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return _login_redirect(request)
    entry = catalog.get_entry(session, viewer.actor, name)
    job = jobs.get_job(session, viewer.actor, job_id)
    if job.resource_id != rid:
        raise jobs.JobNotFound(f"任务不存在：{job_id}")
    resource = catalog.get_resource(session, viewer.actor, rid)
    if resource.entry_id != entry.id:
        raise jobs.JobNotFound(f"任务不存在：{job_id}")
    context = _page_context(entry, resource)
    context.update(job=job, job_url=request.url.path, **_outcome(job))
    template = "store/_job.html" if is_htmx_partial(request) else "store/job.html"
    response = render(request, template, context, headers=NO_STORE)
    response.headers["Vary"] = "HX-Request"
    return response


def _outcome(job: JobRead) -> dict[str, Any]:
    result = job.result or {}
    quality = result.get("quality") or {}
    return {
        "finished": job.state in ("succeeded", "failed", "dead"),
        "published": result.get("state") == "published",
        "refused": result.get("state") == "refused",
        "quality_score": quality.get("score"),
    }
