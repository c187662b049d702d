"""Jobs of the store: loading an uploaded file as a new version, with progress.

An ingest job is a row of the platform's job table (``pubdata.jobs``, kind ``ingest``). The upload API
(or the portal) streams the file to ``$PUBDATA_HOME/uploads/<job id>/`` (``begin_upload``) and
inserts the row ``queued`` in the request's transaction (``queue_ingest``). The platform's queue
claims, retries and recovers it like any job (``pubdata.jobs.queue``: one load of a table runs at a
time); how it runs — as its uploader, with progress, its outcome committed with the new version — is
``store/jobs/runner.py``, which registers the ``ingest`` handler.

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
from pathlib import Path

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from pubdata.authz import Actor, Permission
from pubdata.db import session_scope, utcnow
from pubdata.errors import Conflict, Forbidden, Invalid, NotFound, PubdataError, Unauthenticated
from pubdata.jobs import queue as platform_queue
from pubdata.jobs import service as job_service
from pubdata.jobs.queue import (  # noqa: F401 - the store's names for the platform's states
    ACTIVE,
    DEAD,
    FAILED,
    INTERRUPTED_AT_START,
    INTERRUPTED_STALE,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    Retry,
    worker_name,
)
from pubdata.store.ingest import load as loader
from pubdata.store.models import StoreJob
from pubdata.store.schemas import JobRead


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
        if not platform_queue.is_gone(other.worker, other.heartbeat_at, stale_seconds):
            raise JobConflict(f"该资源已有导入任务正在运行（任务 {other.id}），请等它结束后再导入")
        other.state, other.stage, other.finished_at, other.active_key = FAILED, "失败", now, None
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
    return job_service.job_read(job)


def _may_see(session: Session, actor: Actor, job: StoreJob) -> bool:
    if actor.user_id is not None and job.created_by == actor.user_id:
        return True
    if job.resource_id is None:  # another kind of job: the operator's (pubdata.jobs.service)
        return actor.can(Permission.PLATFORM_JOBS_MANAGE)
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


def claim_jobs(engine: Engine, worker: str, limit: int) -> list[str]:
    """Claim up to ``limit`` queued jobs for ``worker`` (the platform's queue: every kind, a load
    waiting while another load of its table runs)."""
    return platform_queue.claim(engine, worker, limit)


def recover_interrupted(
    engine: Engine, home: Path, *, stale_seconds: float, message: str, retry: Retry | None = None
) -> dict[str, str]:
    """Recover the running jobs whose process is gone (``pubdata.jobs.queue.recover_interrupted``):
    an uploaded job goes back to the queue after a backoff while its upload is there — nothing it
    loaded was published (a version commits with its job's success), so running it again loads it
    once — and is dead after ``max_attempts`` runs (its upload kept, so the operator can re-queue
    it); a job the command line ran in the foreground fails (its caller is gone)."""
    return platform_queue.recover_interrupted(engine, home, stale_seconds=stale_seconds, message=message, retry=retry)


def sweep_uploads(engine: Engine, home: Path, *, older_than: float) -> int:
    """Remove upload directories that belong to no queued, running or dead job (an upload cut off
    mid-stream, a job that ended while its process died) and have not been written for
    ``older_than`` seconds (so an upload still streaming in another process is left alone; a dead
    job keeps its file until it is re-queued)."""
    root = uploads_root(home)
    if not root.is_dir():
        return 0
    with session_scope(engine) as s:
        active = set(s.scalars(select(StoreJob.id).where(StoreJob.state.in_((*ACTIVE, DEAD)))))
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
