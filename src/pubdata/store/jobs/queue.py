"""Jobs of the store: loading an uploaded file as a new version, with progress.

A job is a ``store_job`` row. The upload API (or the portal) streams the file to
``$PUBDATA_HOME/uploads/<job id>/`` (``begin_upload``) and inserts the row ``queued`` in the
request's transaction (``queue_ingest``). Runners claim queued jobs with an
``UPDATE … WHERE id = ? AND state = 'queued'`` (``claim_jobs``: only one process's update matches,
on SQLite and PostgreSQL alike, so several processes can share the queue; a job waits while another
load of its resource runs) and recover jobs whose process has died (``recover_interrupted``: retried
with backoff, dead after ``Retry.max_attempts`` runs). How a job is
run — as its uploader, with progress, its outcome committed with the new version — is
``store/jobs/runner.py``.

The command line runs a job in the foreground: ``start_foreground_ingest`` creates it ``running``
(so no runner claims it, and it is visible in the API and portal while it runs), then
``job_runner.run_job``.
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, event, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from pubdata import processes
from pubdata.authz import Actor
from pubdata.db import session_scope, utcnow
from pubdata.errors import Conflict, Forbidden, Invalid, NotFound, PubdataError, Unauthenticated
from pubdata.store.ingest import load as loader
from pubdata.store.models import StoreJob
from pubdata.store.schemas import JobRead

QUEUED, RUNNING, SUCCEEDED, FAILED, DEAD = "queued", "running", "succeeded", "failed", "dead"
ACTIVE = (QUEUED, RUNNING)
INTERRUPTED_AT_START = "服务重启，任务中断"
INTERRUPTED_STALE = "执行任务的进程已停止响应，任务中断"


class JobNotFound(NotFound):
    code = "store.job_not_found"


class JobConflict(Conflict):
    code = "store.job_running"


class InvalidUpload(Invalid):
    code = "store.invalid_upload"


class UploadTooLarge(PubdataError):
    status = 413
    code = "store.upload_too_large"


# --- upload files ------------------------------------------------------------------------------


def uploads_root(home: Path) -> Path:
    return home / "uploads"


def upload_dir(home: Path, job_id: str) -> Path:
    return uploads_root(home) / str(uuid.UUID(job_id))  # a job id, never a path


def clean_source_name(name: str) -> str:
    """The file name as the uploader called it, without any directory part or control characters."""
    base = re.split(r"[\\/]", name.strip())[-1]
    base = "".join(ch for ch in base if ord(ch) >= 32 and ch != "\x7f").strip()
    if not base or base in (".", ".."):
        raise InvalidUpload(
            "缺少文件名：请用 ?filename= 或 Content-Disposition 头指明（如 data.csv）", field="filename"
        )
    return base[-300:]


def source_suffix(source_name: str) -> str:
    """The file's suffix if the loader reads that format; otherwise a clear error before any upload."""
    suffix = Path(source_name).suffix.lower()
    if suffix not in loader.FORMATS:
        supported = "、".join(sorted(loader.FORMATS))
        raise InvalidUpload(f"不支持的文件格式：{suffix or source_name}（支持 {supported}）", field="filename")
    return suffix


def upload_limit_message(limit: int) -> str:
    return f"上传的文件过大：超过上限 {limit / 1024**2:,.0f} MB（{limit:,} 字节）"


@dataclass(frozen=True)
class Upload:
    """Where an accepted upload is written before its job is queued."""

    job_id: str
    resource_id: str
    directory: Path


def discard_upload(upload: Upload) -> None:
    shutil.rmtree(upload.directory, ignore_errors=True)


def remove_upload(home: Path, job_id: str) -> None:
    shutil.rmtree(upload_dir(home, job_id), ignore_errors=True)


# --- creating and reading jobs -----------------------------------------------------------------


def check_may_load(session: Session, actor: Actor, resource_id: str) -> None:
    """Raise unless the actor may load versions of the resource (its entry's department or the
    operator) and the resource has a table (``TableNotCreated``, 409, when it has none)."""
    loader.loadable_table(session, actor, resource_id)


def begin_upload(session: Session, actor: Actor, resource_id: str, home: Path) -> Upload:
    """Check, before a byte of the file is read, that the actor may load the resource; reserve the
    job's id and upload directory."""
    loader.loadable_table(session, actor, resource_id)
    job_id = str(uuid.uuid4())
    directory = upload_dir(home, job_id)
    directory.mkdir(parents=True)
    return Upload(job_id=job_id, resource_id=resource_id, directory=directory)


def queue_ingest(
    session: Session,
    actor: Actor,
    upload: Upload,
    *,
    path: Path,
    source_name: str,
    via: str,
    on_commit: Callable[[], None] | None = None,
) -> JobRead:
    """Queue the load of an uploaded file (flushed with the caller's transaction); ``on_commit`` is
    called once that transaction commits (to wake the runner)."""
    loader.loadable_table(session, actor, upload.resource_id)
    job = StoreJob(
        id=upload.job_id,
        kind="ingest",
        resource_id=upload.resource_id,
        state=QUEUED,
        stage="排队中",
        source_name=source_name,
        source_path=str(path),
        bytes_received=path.stat().st_size,
        created_by=actor.user_id,
        created_via=via,
    )
    session.add(job)
    session.flush()
    if on_commit is not None:
        callback = on_commit
        event.listen(session, "after_commit", lambda _s: callback(), once=True)
    return job_read(job)


def start_foreground_ingest(
    session: Session,
    actor: Actor,
    resource_id: str,
    path: Path,
    *,
    worker: str,
    via: str = "cli",
    stale_seconds: float = 120.0,
) -> JobRead:
    """A job its caller runs itself (the command line): created ``running`` under ``worker``, so no
    runner claims it; the caller commits, then calls ``run_job``. One load of a resource runs at a
    time: ``JobConflict`` while another is running (a running job whose process is gone is failed)."""
    loader.loadable_table(session, actor, resource_id)
    source_suffix(path.name)
    if not path.is_file():
        raise InvalidUpload(f"文件不存在：{path}", field="file")
    now = utcnow()
    for other in session.scalars(
        select(StoreJob).where(StoreJob.resource_id == resource_id, StoreJob.state == RUNNING)
    ):
        if not _is_gone(other.worker, other.heartbeat_at, stale_seconds):
            raise JobConflict(f"该资源已有导入任务正在运行（任务 {other.id}），请等它结束后再导入")
        other.state, other.stage, other.finished_at = FAILED, "失败", now
        other.error = {"code": "store.job_interrupted", "message": INTERRUPTED_STALE, "details": None}
    job = StoreJob(
        id=str(uuid.uuid4()),
        kind="ingest",
        resource_id=resource_id,
        state=RUNNING,
        stage="开始",
        source_name=path.name,
        source_path=str(path.resolve()),
        bytes_received=path.stat().st_size,
        created_by=actor.user_id,
        created_via=via,
        worker=worker,
        started_at=now,
        heartbeat_at=now,
    )
    session.add(job)
    session.flush()
    return job_read(job)


def job_read(job: StoreJob) -> JobRead:
    return JobRead(
        id=job.id,
        kind=job.kind,
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
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def _may_see(session: Session, actor: Actor, job: StoreJob) -> bool:
    if actor.user_id is not None and job.created_by == actor.user_id:
        return True
    try:
        loader.loadable_table(session, actor, job.resource_id)
    except (Forbidden, Unauthenticated, NotFound):
        return False
    return True


def get_job(session: Session, actor: Actor, job_id: str) -> JobRead:
    """A job with its progress: for whoever started it, the entry's department and the operator;
    not found for anyone else."""
    job = session.get(StoreJob, job_id, populate_existing=True)
    if job is None or not _may_see(session, actor, job):
        raise JobNotFound(f"任务不存在：{job_id}")
    return job_read(job)


def list_jobs(session: Session, actor: Actor, resource_id: str, *, limit: int = 50) -> list[JobRead]:
    """The resource's jobs, newest first (its entry's department and the operator)."""
    loader.loadable_table(session, actor, resource_id)
    jobs = session.scalars(
        select(StoreJob)
        .where(StoreJob.resource_id == resource_id)
        .order_by(StoreJob.created_at.desc(), StoreJob.id)
        .limit(limit)
    )
    return [job_read(j) for j in jobs]


# --- the queue ------------------------------------------------------------------------------------


def worker_name() -> str:
    """Identifies the process running a job: ``host:pid:random``."""
    return processes.process_name()


def claim_jobs(engine: Engine, worker: str, limit: int) -> list[str]:
    """Claim up to ``limit`` queued jobs, oldest first, for ``worker``. Each claim is one
    ``UPDATE … WHERE state = 'queued'`` in its own transaction: if several processes race for a
    job, exactly one update matches. A job waits while another load of its resource is running.
    Reads first, so an idle queue costs no write."""
    if limit <= 0:
        return []
    running = aliased(StoreJob)
    with session_scope(engine) as s:
        candidates = s.execute(
            select(StoreJob.id, StoreJob.resource_id)
            .where(
                StoreJob.state == QUEUED,
                or_(StoreJob.not_before.is_(None), StoreJob.not_before <= utcnow()),
                StoreJob.resource_id.not_in(select(running.resource_id).where(running.state == RUNNING)),
            )
            .order_by(StoreJob.created_at, StoreJob.id)
            .limit(limit * 4)
        ).all()
    claimed: list[str] = []
    resources: set[str] = set()
    for job_id, resource_id in candidates:
        if len(claimed) >= limit:
            break
        if resource_id in resources:
            continue  # one load of a resource at a time: its versions are numbered in order
        now = utcnow()
        with session_scope(engine) as s:
            done = s.execute(
                update(StoreJob)
                .where(
                    StoreJob.id == job_id,
                    StoreJob.state == QUEUED,
                    ~exists().where(running.resource_id == resource_id, running.state == RUNNING),
                )
                .values(state=RUNNING, stage="开始", worker=worker, started_at=now, heartbeat_at=now)
                .execution_options(synchronize_session=False)
            )
            if done.rowcount:  # type: ignore[attr-defined]
                claimed.append(job_id)
                resources.add(resource_id)
    return claimed


def _is_gone(worker: str | None, heartbeat_at: datetime | None, stale_seconds: float) -> bool:
    """Whether a running job's process is gone: no heartbeat for ``stale_seconds``, or a process on
    this machine that no longer exists."""
    if heartbeat_at is None or utcnow() - heartbeat_at > timedelta(seconds=stale_seconds):
        return True
    return processes.is_gone(worker)


@dataclass(frozen=True)
class Retry:
    """How interrupted jobs are retried: up to ``max_attempts`` runs in all, the n-th retry waiting
    ``seconds × 2^(n-1)`` (at most an hour); then the job is dead (the dead-letter state)."""

    max_attempts: int = 3
    seconds: float = 5.0

    def delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(3600.0, self.seconds * 2 ** max(0, attempts - 1)))


def recover_interrupted(
    engine: Engine, home: Path, *, stale_seconds: float, message: str, retry: Retry | None = None
) -> dict[str, str]:
    """Recover the running jobs whose process is gone (a process on this machine that no longer
    exists, or a heartbeat older than ``stale_seconds``): an uploaded job goes back to the queue
    after a backoff — nothing it loaded was published (a version commits with its job's success),
    so running it again loads it once — until it has been interrupted ``max_attempts`` times, when it
    is dead; a job the command line ran in the foreground fails (its caller is gone). Returns each
    recovered job's new state. A retried job keeps its upload; a failed or dead one's is removed."""
    retry = retry or Retry()
    now = utcnow()
    with session_scope(engine) as s:
        running = s.execute(
            select(StoreJob.id, StoreJob.worker, StoreJob.heartbeat_at, StoreJob.attempts, StoreJob.created_via)
            .where(StoreJob.state == RUNNING)
        ).all()  # fmt: skip
    outcome: dict[str, str] = {}
    for job_id, worker, beat, attempts, via in running:
        if not _is_gone(worker, beat, stale_seconds):
            continue
        runs = attempts + 1
        if via != "cli" and runs < retry.max_attempts and upload_dir(home, job_id).is_dir():
            state, values = QUEUED, {
                "state": QUEUED, "stage": f"等待重试（已中断 {runs} 次）", "percent": 0, "rows_so_far": None,
                "worker": None, "attempts": runs, "not_before": now + retry.delay(runs),
                "error": {"code": "store.job_interrupted", "message": message, "details": None},
            }  # fmt: skip
        elif via != "cli":
            state, values = DEAD, {
                "state": DEAD, "stage": "已停止重试", "finished_at": now, "attempts": runs,
                "error": {"code": "store.job_dead", "details": None,
                          "message": f"{message}：任务已中断 {runs} 次，不再重试（请检查文件后重新上传）"},
            }  # fmt: skip
        else:
            state, values = FAILED, {
                "state": FAILED, "stage": "失败", "finished_at": now,
                "error": {"code": "store.job_interrupted", "message": message, "details": None},
            }  # fmt: skip
        with session_scope(engine) as s:
            done = s.execute(
                update(StoreJob)
                .where(StoreJob.id == job_id, StoreJob.state == RUNNING, StoreJob.worker.is_not_distinct_from(worker))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if done.rowcount:  # type: ignore[attr-defined]
                outcome[job_id] = state
        if outcome.get(job_id) in (FAILED, DEAD):
            remove_upload(home, job_id)
    return outcome


def sweep_uploads(engine: Engine, home: Path, *, older_than: float) -> int:
    """Remove upload directories that belong to no queued or running job (an upload cut off
    mid-stream, a job that ended while its process died) and have not been written for
    ``older_than`` seconds (so an upload still streaming in another process is left alone)."""
    root = uploads_root(home)
    if not root.is_dir():
        return 0
    with session_scope(engine) as s:
        active = set(s.scalars(select(StoreJob.id).where(StoreJob.state.in_(ACTIVE))))
    removed = 0
    cutoff = time.time() - older_than
    for child in root.iterdir():
        if child.name in active or not child.is_dir():
            continue
        newest = max([child.stat().st_mtime, *(f.stat().st_mtime for f in child.iterdir())], default=0.0)
        if newest < cutoff:
            shutil.rmtree(child, ignore_errors=True)
            removed += 1
    return removed
