"""Running the store's jobs: the ``ingest`` handler of the platform's job system, and the store's
entry points to run one job (``run_job``, ``run_job_inline``).

A load runs as its uploader (the actor is rebuilt from the stored user through the identity
service, with their roles as they are now) and records its outcome: ``succeeded`` with the load's
report (a refused version included) or ``failed`` with the error's code and Chinese message. The
outcome is committed in the same transaction as the new version (``pubdata.jobs.runner``), so a job
never says succeeded for a version that is not there, and a failed job has published nothing
(``ingest`` guarantees that). The upload directory is removed when the job succeeds or fails; a
dead job keeps it, so that the operator can re-queue it.

A load that raises fails at once (a broken file stays broken); only interruptions — its process
died — are retried with backoff. Tests, whose data is never committed, run a job inside their own
transaction with ``run_job_inline``; the threaded path runs against a committed database.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pubdata.authz import SYSTEM, Actor
from pubdata.db import session_scope
from pubdata.errors import Forbidden
from pubdata.identity import service as identity
from pubdata.jobs import registry
from pubdata.jobs import runner as platform_runner
from pubdata.jobs.registry import Context, Outcome, ProgressCallback
from pubdata.jobs.runner import (  # noqa: F401 - the store's names for the platform's runner
    CUT,
    MAX_DETAIL_CHARS,
    MAX_DETAILS,
    MAX_MESSAGE_CHARS,
    PROGRESS_INTERVAL,
    JobRunner,
    bounded_text,
)
from pubdata.jobs.runner import error_of as _error_of  # noqa: F401
from pubdata.store.ingest import load as loader
from pubdata.store.jobs.queue import (
    DEAD,
    JobNotFound,
    job_read,
    remove_upload,
    sweep_uploads,
    upload_dir,
)
from pubdata.store.models import StoreJob
from pubdata.store.schemas import JobRead

KIND = "ingest"


def _actor_of(job: StoreJob) -> Actor:
    """Who the job runs as: its uploader as they are now (roles may have changed since)."""
    if job.created_by is None:
        if job.created_via == "cli":
            return SYSTEM
        raise Forbidden("任务没有记录发起人，不能执行", code="store.job_without_creator")
    user = job.creator
    if user is None or not user.is_active:
        raise Forbidden("发起任务的用户已停用，任务不能执行", code="store.job_creator_inactive")
    return identity.actor_for(user, via="job")


def _rejects_download(session: Session, job_id: str, result: loader.LoadResult) -> str | None:
    if not result.rejects_file:
        return None
    resource_id = session.scalar(select(StoreJob.resource_id).where(StoreJob.id == job_id))
    return f"/api/v1/resources/{resource_id}/versions/{result.version}/rejects.csv"


def _ingest(ctx: Context) -> Outcome:
    job = ctx.session.get(StoreJob, ctx.job_id)
    if job is None or job.resource_id is None:
        raise JobNotFound(f"任务不存在：{ctx.job_id}")
    result = loader.ingest(
        ctx.session,
        _actor_of(job),
        job.resource_id,
        Path(job.source_path),
        home=ctx.home,
        source_name=job.source_name,
        progress=ctx.progress,
    )
    # what the job reports to its loader names the rejects by their download (read through
    # store.read.plan_rejects), never by the server's file path
    report = result.as_json() | {"rejects_file": _rejects_download(ctx.session, ctx.job_id, result)}
    return Outcome(report, rows=result.rows_loaded + result.rows_rejected)


def _retryable(job_id: str, home: Path, _via: str) -> bool:
    return upload_dir(home, job_id).is_dir()  # the file is still there to load


def _on_end(job_id: str, home: Path, state: str) -> None:
    if state != DEAD:  # a dead job keeps its upload until it is re-queued (or swept)
        remove_upload(home, job_id)


registry.register(
    registry.Handler(kind=KIND, title="数据导入", run=_ingest, retry_errors=False, retryable=_retryable, on_end=_on_end)
)
platform_runner.register_maintenance(lambda engine, home, stale: sweep_uploads(engine, home, older_than=stale))


def run_job(
    engine: Engine,
    job_id: str,
    *,
    home: Path,
    on_progress: ProgressCallback | None = None,
    heartbeat_seconds: float = 30.0,
) -> JobRead:
    """Run a claimed (``running``) job to its end in its own transactions and return it as it ended.
    Never raises for a failing load: the job records it. ``on_progress`` sees every progress report
    (the command line's progress bar)."""
    platform_runner.run_job(engine, job_id, home=home, on_progress=on_progress, heartbeat_seconds=heartbeat_seconds)
    with session_scope(engine) as s:
        job = s.get(StoreJob, job_id)
        if job is None:
            raise JobNotFound(f"任务不存在：{job_id}")
        return job_read(job)


def run_job_inline(session: Session, job_id: str, *, home: Path) -> JobRead:
    """Run a queued or running job to its end inside the caller's transaction (the load in a
    savepoint, so a failure is recorded and its partial work rolled back). For tests, whose data
    other sessions cannot see, and for callers that want the load in their own transaction."""
    if session.get(StoreJob, job_id) is None:
        raise JobNotFound(f"任务不存在：{job_id}")
    return job_read(platform_runner.run_inline(session, job_id, home=home))
