"""The portal's page of background jobs (后台任务, for the operator and administrators): every job of
every kind with its progress, filtered by state (the dead-letter jobs: 已停止重试), re-queueing a dead
or failed job, and queueing a long job by hand (facts, scoring, matching, a month's settlement, a
backup). The service checks ``platform:jobs:manage`` and audits what changes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import event
from sqlalchemy.orm import Session

from pubdata.api.deps import DB
from pubdata.authz import Permission, require
from pubdata.errors import PubdataError
from pubdata.jobs import queue, registry
from pubdata.jobs import service as jobs
from pubdata.web.access_forms import NO_STORE, attempt, check_csrf, form_error, login_redirect
from pubdata.web.deps import ViewerDep
from pubdata.web.templating import Viewer, render

router = APIRouter(include_in_schema=False)

FormStr = Annotated[str, Form()]
PAGE = "/jobs"
STATE_LABELS = {
    "queued": "排队中",
    "running": "运行中",
    "succeeded": "已完成",
    "failed": "失败",
    "dead": "已停止重试",
}
QUEUEABLE = ("facts.build", "credit.score", "policy.match", "market.settle", "backup")


def _wake(request: Request, session: Session) -> None:
    runner = getattr(request.app.state, "job_runner", None)
    if runner is not None:
        event.listen(session, "after_commit", lambda _s: runner.wake(), once=True)


def _page(
    request: Request,
    session: Session,
    viewer: Viewer,
    *,
    state: str = "",
    kind: str = "",
    error: dict[str, Any] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    shown = jobs.list_jobs(session, viewer.actor, state=state or None, kind=kind or None, limit=200)
    context = {
        "nav": "jobs",
        "jobs": shown,
        "counts": jobs.counts(session, viewer.actor),
        "states": STATE_LABELS,
        "kinds": registry.kinds(),
        "queueable": jobs.may_queue(viewer.actor, QUEUEABLE),
        "form": {"state": state, "kind": kind},
        "error": error,
        "notice": notice,
    }
    return render(request, "jobs/jobs.html", context, status_code=status_code, headers=NO_STORE)


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(request: Request, session: DB, viewer: ViewerDep, state: str = "", kind: str = "") -> Response:
    if not viewer.signed_in:
        return login_redirect(request, PAGE)
    require(viewer.actor, Permission.PLATFORM_JOBS_MANAGE)
    if state and state not in queue.STATES:
        state = ""
    return _page(request, session, viewer, state=state, kind=kind[:32])


@router.post("/jobs", response_class=HTMLResponse)
def queue_job(
    request: Request,
    session: DB,
    viewer: ViewerDep,
    csrf_token: FormStr = "",
    kind: FormStr = "",
    month: FormStr = "",
    pack_id: FormStr = "",
) -> Response:
    if not viewer.signed_in:
        return login_redirect(request, PAGE)
    check_csrf(viewer, csrf_token)
    params: dict[str, Any] = {}
    if kind == "market.settle":
        params["month"] = month.strip()
    if kind == "policy.match" and pack_id.strip():
        params["pack_id"] = pack_id.strip()
    try:
        if kind not in QUEUEABLE:
            raise registry.UnknownJobKind(f"不能手工提交的任务类型：{kind or '（未选择）'}", field="kind")
        job, new = attempt(session, lambda: jobs.enqueue(session, viewer.actor, kind, params=params))
    except PubdataError as exc:
        if exc.status in (401, 403):
            raise
        return _page(request, session, viewer, error=form_error(exc), status_code=exc.status)
    if new:
        _wake(request, session)
    notice = f"已提交任务 {job.id}" if new else f"同样的任务已在排队或运行：{job.id}"
    return _page(request, session, viewer, notice=notice)


@router.post("/jobs/{job_id}/requeue", response_class=HTMLResponse)
def requeue_job(request: Request, job_id: str, session: DB, viewer: ViewerDep, csrf_token: FormStr = "") -> Response:
    if not viewer.signed_in:
        return login_redirect(request, PAGE)
    check_csrf(viewer, csrf_token)
    home = request.app.state.settings.resolved_home
    try:
        attempt(session, lambda: jobs.requeue(session, viewer.actor, job_id, home=home))
    except PubdataError as exc:
        if exc.status in (401, 403):
            raise
        return _page(request, session, viewer, error=form_error(exc), status_code=exc.status)
    _wake(request, session)
    return RedirectResponse(f"{PAGE}#job-{job_id}", status_code=303)
