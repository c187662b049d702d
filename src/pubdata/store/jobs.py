"""Background jobs of the store: loading an uploaded file as a new version, with progress.

A job is a ``store_job`` row. The upload API (or the portal) streams the file to
``$PUBDATA_HOME/uploads/<job id>/`` and inserts the row ``queued`` in the request's transaction.
A ``JobRunner`` in each server process claims queued jobs with an
``UPDATE … WHERE id = ? AND state = 'queued'`` (only one process's update matches, on SQLite and
PostgreSQL alike, so several processes can share the queue), runs the load in its own session as the
uploader (the actor is rebuilt from the stored user through the identity service) and records the
outcome: ``succeeded`` with the load's report (a refused version included) or ``failed`` with the
error's code and Chinese message. The result is committed in the same transaction as the new
version, so a job never says succeeded for a version that is not there, and a failed job has
published nothing (``ingest`` guarantees that). The upload directory is removed when the job ends.

Progress (stage, percent, rows so far) and a heartbeat are written by a small reporter thread in
separate short transactions, at most every ``PROGRESS_INTERVAL`` seconds, so the load itself never
waits on the database. A job whose process stops reporting (killed, restarted) is failed by the next
runner that starts, or by any runner's periodic sweep once its heartbeat is older than
``job_stale_seconds``; queued jobs are simply picked up.

The command line runs a job in the foreground (``start_foreground_ingest`` + ``run_job``): the row is
created ``running``, so no runner claims it, and it is visible in the API and portal while it runs.
Tests, whose data is never committed, run a job inside their own transaction with ``run_job_inline``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, exists, select, update
from sqlalchemy.orm import Session, aliased

from pubdata.authz import SYSTEM, Actor
from pubdata.catalog import service as catalog
from pubdata.db import new_session, session_scope, utcnow
from pubdata.errors import Conflict, Forbidden, Invalid, NotFound, PubdataError, Unauthenticated
from pubdata.identity import service as identity
from pubdata.settings import Settings
from pubdata.store import ingest as loader
from pubdata.store.errors import TableNotFound
from pubdata.store.models import StoreJob, StoreTable
from pubdata.store.schemas import JobRead

log = logging.getLogger(__name__)

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
ACTIVE = (QUEUED, RUNNING)
PROGRESS_INTERVAL = 0.5  # seconds between progress writes of one job
INTERRUPTED_AT_START = "服务重启，任务中断"
INTERRUPTED_STALE = "执行任务的进程已停止响应，任务中断"
ProgressCallback = Callable[[str, int, "int | None"], None]


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


def _remove_upload(home: Path, job_id: str) -> None:
    shutil.rmtree(upload_dir(home, job_id), ignore_errors=True)


# --- creating and reading jobs -----------------------------------------------------------------


def _loadable_table(session: Session, actor: Actor, resource_id: str) -> StoreTable:
    resource = catalog.get_resource(session, actor, resource_id)
    catalog.editable_entry(session, actor, resource.entry.code)
    table = session.get(StoreTable, resource.id)
    if table is None:
        raise TableNotFound(f"资源尚未建立数据表：{resource_id}")
    return table


def check_may_load(session: Session, actor: Actor, resource_id: str) -> None:
    """Raise unless the actor may load versions of the resource (its entry's department or the
    operator) and the resource has a table."""
    _loadable_table(session, actor, resource_id)


def begin_upload(session: Session, actor: Actor, resource_id: str, home: Path) -> Upload:
    """Check, before a byte of the file is read, that the actor may load the resource; reserve the
    job's id and upload directory."""
    _loadable_table(session, actor, resource_id)
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
    _loadable_table(session, actor, upload.resource_id)
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
    return _read(job)


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
    _loadable_table(session, actor, resource_id)
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
    return _read(job)


def _read(job: StoreJob) -> JobRead:
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
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def _may_see(session: Session, actor: Actor, job: StoreJob) -> bool:
    if actor.user_id is not None and job.created_by == actor.user_id:
        return True
    try:
        _loadable_table(session, actor, job.resource_id)
    except (Forbidden, Unauthenticated, NotFound):
        return False
    return True


def get_job(session: Session, actor: Actor, job_id: str) -> JobRead:
    """A job with its progress: for whoever started it, the entry's department and the operator;
    not found for anyone else."""
    job = session.get(StoreJob, job_id, populate_existing=True)
    if job is None or not _may_see(session, actor, job):
        raise JobNotFound(f"任务不存在：{job_id}")
    return _read(job)


def list_jobs(session: Session, actor: Actor, resource_id: str, *, limit: int = 50) -> list[JobRead]:
    """The resource's jobs, newest first (its entry's department and the operator)."""
    _loadable_table(session, actor, resource_id)
    jobs = session.scalars(
        select(StoreJob)
        .where(StoreJob.resource_id == resource_id)
        .order_by(StoreJob.created_at.desc(), StoreJob.id)
        .limit(limit)
    )
    return [_read(j) for j in jobs]


# --- running -----------------------------------------------------------------------------------


def worker_name() -> str:
    """Identifies the process running a job: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


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


def _execute(session: Session, job_id: str, home: Path, progress: ProgressCallback) -> loader.LoadResult:
    job = session.get(StoreJob, job_id)
    if job is None:
        raise JobNotFound(f"任务不存在：{job_id}")
    return loader.ingest(
        session,
        _actor_of(job),
        job.resource_id,
        Path(job.source_path),
        home=home,
        source_name=job.source_name,
        progress=progress,
    )


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def _error_of(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, PubdataError):
        return {"code": exc.code, "message": exc.message, "details": _jsonable(exc.details)}
    if isinstance(exc, KeyboardInterrupt):
        return {"code": "store.job_interrupted", "message": "任务被中断，未发布任何数据", "details": None}
    return {
        "code": "store.job_crashed",
        "message": f"任务执行出错（{type(exc).__name__}），未发布任何数据；请联系运营方",
        "details": None,
    }


def _finish(
    session: Session,
    job_id: str,
    *,
    result: loader.LoadResult | None = None,
    error: dict[str, Any] | None = None,
) -> bool:
    """Record the outcome of a running job; False if it is no longer running (another process
    declared it interrupted), in which case the caller must not commit the load."""
    now = utcnow()
    values: dict[str, Any] = {"finished_at": now, "heartbeat_at": now}
    if result is not None:
        values.update(
            state=SUCCEEDED,
            stage="完成",
            percent=100,
            rows_so_far=result.rows_loaded + result.rows_rejected,
            result=result.as_json(),
        )
    else:
        values.update(state=FAILED, stage="失败", error=error)
    done = session.execute(
        update(StoreJob)
        .where(StoreJob.id == job_id, StoreJob.state == RUNNING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def _progress_values(stage: str, percent: int, rows: int | None) -> dict[str, Any]:
    values: dict[str, Any] = {"stage": stage[:32], "percent": max(0, min(100, int(percent)))}
    if rows is not None:
        values["rows_so_far"] = rows
    return values


class _Reporter:
    """Writes a running job's latest progress and a heartbeat from its own thread, at most every
    ``PROGRESS_INTERVAL`` seconds, so the load never waits on the database (on SQLite it may hold
    the write lock while it publishes)."""

    def __init__(self, engine: Engine, job_id: str, heartbeat_seconds: float) -> None:
        self._engine = engine
        self._job_id = job_id
        self._heartbeat = heartbeat_seconds
        self._pending: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"pubdata-job-{job_id[:8]}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def report(self, stage: str, percent: int, rows: int | None) -> None:
        with self._lock:
            self._pending = _progress_values(stage, percent, rows)
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        last = 0.0
        while not self._stop.is_set():
            self._wake.wait(self._heartbeat)
            pause = PROGRESS_INTERVAL - (time.monotonic() - last)
            if pause > 0:
                self._stop.wait(pause)
            if self._stop.is_set():
                return  # the outcome is written by whoever finishes the job
            self._wake.clear()
            with self._lock:
                values, self._pending = self._pending or {}, None
            try:
                with session_scope(self._engine) as s:
                    s.execute(
                        update(StoreJob)
                        .where(StoreJob.id == self._job_id, StoreJob.state == RUNNING)
                        .values(heartbeat_at=utcnow(), **values)
                        .execution_options(synchronize_session=False)
                    )
            except Exception:  # progress is best effort; the load goes on
                log.warning("could not record progress of job %s", self._job_id, exc_info=True)
            last = time.monotonic()


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
    reporter = _Reporter(engine, job_id, heartbeat_seconds)
    reporter.start()

    def progress(stage: str, percent: int, rows: int | None) -> None:
        reporter.report(stage, percent, rows)
        if on_progress is not None:
            on_progress(stage, percent, rows)

    session = new_session(engine)
    interrupted: BaseException | None = None
    try:
        try:
            result = _execute(session, job_id, home, progress)
            if _finish(session, job_id, result=result):
                session.commit()
            else:
                session.rollback()  # declared interrupted meanwhile: its version stays unpublished
                log.warning("job %s was no longer running when it finished; its load was discarded", job_id)
        except BaseException as exc:
            session.rollback()
            if not isinstance(exc, PubdataError):
                log.exception("job %s failed", job_id)
            if not isinstance(exc, Exception):
                interrupted = exc
            with session_scope(engine) as s:
                _finish(s, job_id, error=_error_of(exc))
    finally:
        session.close()
        reporter.stop()
        _remove_upload(home, job_id)
    if interrupted is not None:
        raise interrupted
    with session_scope(engine) as s:
        job = s.get(StoreJob, job_id)
        if job is None:
            raise JobNotFound(f"任务不存在：{job_id}")
        return _read(job)


def run_job_inline(session: Session, job_id: str, *, home: Path) -> JobRead:
    """Run a queued or running job to its end inside the caller's transaction (the load in a
    savepoint, so a failure is recorded and its partial work rolled back). For tests, whose data
    other sessions cannot see, and for callers that want the load in their own transaction."""
    job = session.get(StoreJob, job_id)
    if job is None:
        raise JobNotFound(f"任务不存在：{job_id}")
    if job.state == QUEUED:
        job.state, job.stage, job.started_at = RUNNING, "开始", utcnow()
        session.flush()

    def progress(stage: str, percent: int, rows: int | None) -> None:
        session.execute(
            update(StoreJob)
            .where(StoreJob.id == job_id)
            .values(**_progress_values(stage, percent, rows))
            .execution_options(synchronize_session=False)
        )

    try:
        with session.begin_nested():
            result = _execute(session, job_id, home, progress)
    except Exception as exc:
        _finish(session, job_id, error=_error_of(exc))
    else:
        _finish(session, job_id, result=result)
    finally:
        _remove_upload(home, job_id)
    session.flush()
    done = session.get(StoreJob, job_id, populate_existing=True)
    assert done is not None
    return _read(done)


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


def _process_is_gone(worker: str | None) -> bool:
    """True if ``worker`` names a process on this machine that no longer exists."""
    if not worker:
        return False
    host, _, rest = worker.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _is_gone(worker: str | None, heartbeat_at: datetime | None, stale_seconds: float) -> bool:
    """Whether a running job's process is gone: no heartbeat for ``stale_seconds``, or a process on
    this machine that no longer exists."""
    if heartbeat_at is None or utcnow() - heartbeat_at > timedelta(seconds=stale_seconds):
        return True
    return _process_is_gone(worker)


def fail_interrupted(engine: Engine, home: Path, *, stale_seconds: float, message: str) -> list[str]:
    """Fail the running jobs whose process is gone: a process on this machine that no longer
    exists, or a heartbeat older than ``stale_seconds``. Returns their ids. Nothing they loaded was
    published (the version commits with the job's success)."""
    now = utcnow()
    with session_scope(engine) as s:
        running = s.execute(
            select(StoreJob.id, StoreJob.worker, StoreJob.heartbeat_at).where(StoreJob.state == RUNNING)
        ).all()
    gone = [(job_id, worker) for job_id, worker, beat in running if _is_gone(worker, beat, stale_seconds)]
    failed: list[str] = []
    for job_id, worker in gone:
        with session_scope(engine) as s:
            done = s.execute(
                update(StoreJob)
                .where(StoreJob.id == job_id, StoreJob.state == RUNNING, StoreJob.worker.is_not_distinct_from(worker))
                .values(
                    state=FAILED,
                    stage="失败",
                    finished_at=now,
                    error={"code": "store.job_interrupted", "message": message, "details": None},
                )
                .execution_options(synchronize_session=False)
            )
            if done.rowcount:  # type: ignore[attr-defined]
                failed.append(job_id)
        _remove_upload(home, job_id)
    return failed


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


class JobRunner:
    """Runs queued jobs in this process: a poller thread claims jobs while fewer than ``workers``
    run, each job in a thread of its own. ``wake()`` makes it look at once (after a job is queued);
    otherwise it looks every ``poll_seconds``. It also fails jobs whose process has died."""

    def __init__(
        self,
        engine: Engine,
        home: Path,
        *,
        workers: int = 1,
        poll_seconds: float = 1.0,
        stale_seconds: float = 120.0,
    ) -> None:
        self.engine = engine
        self.home = home
        self.workers = workers
        self.poll_seconds = poll_seconds
        self.stale_seconds = stale_seconds
        self.worker = worker_name()
        self._active: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._poller: threading.Thread | None = None

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings) -> JobRunner:
        return cls(
            engine,
            settings.resolved_home,
            workers=settings.job_workers,
            poll_seconds=settings.job_poll_seconds,
            stale_seconds=settings.job_stale_seconds,
        )

    def start(self) -> None:
        """Fail the jobs a dead process left running, then start looking for queued ones."""
        if self.workers <= 0:
            return
        try:
            for job_id in fail_interrupted(
                self.engine, self.home, stale_seconds=self.stale_seconds, message=INTERRUPTED_AT_START
            ):
                log.warning("job %s was interrupted by a restart", job_id)
            sweep_uploads(self.engine, self.home, older_than=self.stale_seconds)
        except Exception:  # the server still starts; the periodic sweep tries again
            log.exception("job runner could not recover interrupted jobs at start")
        self._poller = threading.Thread(target=self._loop, name="pubdata-job-runner", daemon=True)
        self._poller.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming; wait up to ``timeout`` seconds for running jobs. A job still running when
        the process exits is failed by the next runner that starts."""
        self._stopping.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        if self._poller is not None:
            self._poller.join(timeout)
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))

    @property
    def running(self) -> int:
        with self._lock:
            return len(self._active)

    def _loop(self) -> None:
        next_sweep = time.monotonic() + self.stale_seconds / 2
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                free = self.workers - self.running
                for job_id in claim_jobs(self.engine, self.worker, free):
                    self._launch(job_id)
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + self.stale_seconds / 2
                    fail_interrupted(
                        self.engine, self.home, stale_seconds=self.stale_seconds, message=INTERRUPTED_STALE
                    )
            except Exception:  # the database may be briefly unavailable; try again next round
                log.exception("job runner could not look for jobs")
            self._wake.wait(self.poll_seconds)

    def _launch(self, job_id: str) -> None:
        with self._lock:
            self._active.add(job_id)
        thread = threading.Thread(target=self._run, args=(job_id,), name=f"pubdata-job-{job_id[:8]}", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _run(self, job_id: str) -> None:
        try:
            run_job(self.engine, job_id, home=self.home, heartbeat_seconds=max(1.0, self.stale_seconds / 4))
        except Exception:
            log.exception("job %s could not be run", job_id)
        finally:
            with self._lock:
                self._active.discard(job_id)
            self._wake.set()
