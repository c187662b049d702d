"""What the operator sees and does with the platform's jobs: every job of every kind (filtered by
state, e.g. the dead ones), one job, re-queueing a dead or failed job, and queueing a job of a kind
by hand. The operator's (and the administrator's) right: ``platform:jobs:manage``. Re-queueing and
queueing are audited (``jobs.requeue``, ``jobs.enqueue``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pubdata.audit import service as audit
from pubdata.authz import Actor, Permission, require
from pubdata.errors import Invalid
from pubdata.jobs import queue, registry
from pubdata.jobs.models import Job
from pubdata.jobs.schemas import JobRead


class InvalidJobFilter(Invalid):
    code = "jobs.invalid_filter"


def job_read(job: Job, *, operator: bool = False) -> JobRead:
    """A job as the API shows it; the process running it only to the operator."""
    return JobRead(
        id=job.id,
        kind=job.kind,
        title=registry.title(job.kind),
        key=job.key,
        params=dict(job.params or {}),
        resource_id=job.resource_id,
        state=job.state,
        stage=job.stage,
        percent=job.percent,
        rows_so_far=job.rows_so_far,
        bytes_received=job.bytes_received,
        source_name=job.source_name,
        result=job.result,
        error=job.error,
        created_by=job.creator.username if job.creator is not None else None,
        created_via=job.created_via,
        attempts=job.attempts or 0,
        not_before=job.not_before,
        worker=job.worker if operator else None,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def list_jobs(
    session: Session, actor: Actor, *, state: str | None = None, kind: str | None = None, limit: int = 100
) -> list[JobRead]:
    """Jobs of every kind, newest first; ``state`` (e.g. ``dead``) and ``kind`` narrow the list."""
    require(actor, Permission.PLATFORM_JOBS_MANAGE)
    if state is not None and state not in queue.STATES:
        raise InvalidJobFilter(f"未知的任务状态：{state}（可选 {'、'.join(queue.STATES)}）", field="state")
    query = select(Job).order_by(Job.created_at.desc(), Job.id).limit(max(1, min(limit, 500)))
    if state is not None:
        query = query.where(Job.state == state)
    if kind is not None:
        query = query.where(Job.kind == kind)
    return [job_read(j, operator=True) for j in session.scalars(query)]


def counts(session: Session, actor: Actor) -> dict[str, int]:
    """How many jobs are in each state (the portal's summary)."""
    require(actor, Permission.PLATFORM_JOBS_MANAGE)
    found = dict(session.execute(select(Job.state, func.count()).group_by(Job.state)).all())
    return {state: int(found.get(state, 0)) for state in queue.STATES}


def get_job(session: Session, actor: Actor, job_id: str) -> JobRead:
    require(actor, Permission.PLATFORM_JOBS_MANAGE)
    job = session.get(Job, job_id, populate_existing=True)
    if job is None:
        raise queue.JobNotFound(f"任务不存在：{job_id}")
    return job_read(job, operator=True)


def may_queue(actor: Actor, kinds: Iterable[str]) -> dict[str, str]:
    """Of ``kinds``, those ``actor`` may queue by hand (the work's own right included), with titles."""
    if not actor.can(Permission.PLATFORM_JOBS_MANAGE):
        return {}
    out = {}
    for kind in kinds:
        needed = registry.handler(kind).permission
        if needed is None or actor.can(needed):
            out[kind] = registry.title(kind)
    return out


def _event(action: str, job: Job, **details: Any) -> audit.Event:
    return audit.Event(
        action=action,
        resource_id=job.resource_id,
        details={"job_id": job.id, "kind": job.kind, "key": job.key, **details},
    )


def requeue(session: Session, actor: Actor, job_id: str, *, home: Path) -> JobRead:
    """Put a dead (or failed) job back in the queue with a fresh count of attempts (audited).
    ``JobNotRequeueable`` when it has not ended badly, another job of its key is active, or its kind
    cannot run again (an upload whose file is gone)."""
    require(actor, Permission.PLATFORM_JOBS_MANAGE)
    job = session.get(Job, job_id, populate_existing=True)
    if job is None:
        raise queue.JobNotFound(f"任务不存在：{job_id}")
    was = job.state
    if job.created_via == "cli" and job.kind == "ingest":
        raise queue.JobNotRequeueable("命令行在前台运行的导入任务不能重新排队，请重新执行导入命令")
    try:
        handler = registry.handler(job.kind)
    except registry.UnknownJobKind:
        handler = None
    if handler is not None and handler.permission is not None:
        require(actor, handler.permission)  # the work's own right, as for queueing it
    if handler is not None and handler.retryable is not None and not handler.retryable(job.id, home, job.created_via):
        raise queue.JobNotRequeueable("该任务不能再次执行（所需文件已删除）：请重新提交")
    queue.requeue_row(session, job)
    audit.record(session, actor, _event("jobs.requeue", job, was=was))
    return job_read(job, operator=True)


def enqueue(
    session: Session,
    actor: Actor,
    kind: str,
    *,
    params: dict[str, Any] | None = None,
    key: str | None = None,
    via: str = "api",
) -> tuple[JobRead, bool]:
    """Queue a job of ``kind`` by hand, deduplicated by ``key`` (default ``queue.key_for``: the
    schedulers' key, so a job the operator queues and a scheduled one are never both waiting);
    audited when new."""
    require(actor, Permission.PLATFORM_JOBS_MANAGE)
    if kind == "ingest":
        raise registry.UnknownJobKind("导入任务由上传文件创建，不能直接排队", field="kind")
    needed = registry.handler(kind).permission
    if needed is not None:
        require(actor, needed)  # the job runs as the system: queueing it is doing the work
    key = key or queue.key_for(kind, params)
    job_id, new = queue.enqueue(session, kind, params=params, key=key, created_by=actor.user_id, via=via)
    job = session.get(Job, job_id)
    assert job is not None
    if new:
        audit.record(session, actor, _event("jobs.enqueue", job, params=params or {}))
    return job_read(job, operator=True), new
