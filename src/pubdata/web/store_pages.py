"""Portal pages for publishing data: the upload form of a resource, and the page that follows its
ingest job (htmx polls a small partial every second until the job ends).

Only the entry's department or the operator may upload (``jobs.check_may_load``, the same rule as
the API); visitors who are not signed in are sent to the sign-in page. The form is CSRF-protected
with the login session's token, which must come before the file in the multipart body: it is checked
as soon as the file part begins, before any of the file is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from pubdata.api.deps import DB
from pubdata.api.v1.jobs import receive_file, waker
from pubdata.catalog import service as catalog
from pubdata.catalog.errors import ResourceNotFound
from pubdata.settings import Settings
from pubdata.store.ingest.load import FORMATS
from pubdata.store.jobs import queue as jobs
from pubdata.store.schemas import JobRead
from pubdata.web import csrf
from pubdata.web.catalog_pages import is_htmx_partial
from pubdata.web.deps import ViewerDep
from pubdata.web.templating import Viewer, render

if TYPE_CHECKING:
    from pubdata.catalog.models import CatalogEntry, CatalogResource

router = APIRouter(include_in_schema=False)

NO_STORE = {"Cache-Control": "no-store"}
STATE_LABELS = {"queued": "排队中", "running": "处理中", "succeeded": "已完成", "failed": "失败"}


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def _login_redirect(request: Request) -> RedirectResponse:
    return RedirectResponse("/user/login?next=" + quote(request.url.path), status_code=303)


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
) -> HTMLResponse:
    context = _page_context(entry, resource)
    context.update(
        error=error,
        limit_mb=f"{_settings(request).upload_max_bytes / 1024**2:,.0f}",
        recent=jobs.list_jobs(session, viewer.actor, resource.id, limit=10),
    )
    return render(request, "store/upload.html", context, status_code=status_code, headers=NO_STORE)


@router.get("/dataset/{name}/resource/{rid}/upload", response_class=HTMLResponse)
def upload_page(request: Request, name: str, rid: str, session: DB, viewer: ViewerDep) -> Response:
    if not viewer.signed_in:
        return _login_redirect(request)
    entry, resource = _entry_resource(session, viewer, name, rid)
    return _upload_form(request, session, viewer, entry, resource)


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
    resource = catalog.get_resource(session, viewer.actor, job.resource_id)
    if job.resource_id != rid or resource.entry_id != entry.id:
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
        "finished": job.state in ("succeeded", "failed"),
        "published": result.get("state") == "published",
        "refused": result.get("state") == "refused",
        "quality_score": quality.get("score"),
    }
