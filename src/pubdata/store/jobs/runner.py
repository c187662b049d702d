"""Running the store's jobs: one job to its end (``run_job``, ``run_job_inline``) and the
``JobRunner`` every server process starts.

A job runs in its own session as its uploader (the actor is rebuilt from the stored user through the
identity service, with their roles as they are now) and records its outcome: ``succeeded`` with the
load's report (a refused version included) or ``failed`` with the error's code and Chinese message.
The outcome is committed in the same transaction as the new version, so a job never says succeeded
for a version that is not there, and a failed job has published nothing (``ingest`` guarantees
that). The upload directory is removed when the job ends.

Progress (stage, percent, rows so far) and a heartbeat are written by a small reporter thread in
separate short transactions, at most every ``PROGRESS_INTERVAL`` seconds, so the load itself never
waits on the database. A job whose process stops reporting (killed, restarted) is failed by the next
runner that starts, or by any runner's periodic sweep once its heartbeat is older than
``job_stale_seconds``; queued jobs are simply picked up.

Tests, whose data is never committed, run a job inside their own transaction with
``run_job_inline``; the threaded path runs against a committed database.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from pubdata.authz import SYSTEM, Actor
from pubdata.db import new_session, session_scope, utcnow
from pubdata.errors import Forbidden, PubdataError
from pubdata.identity import service as identity
from pubdata.settings import Settings
from pubdata.store.ingest import load as loader
from pubdata.store.jobs.queue import (
    FAILED,
    INTERRUPTED_AT_START,
    INTERRUPTED_STALE,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    JobNotFound,
    Retry,
    claim_jobs,
    job_read,
    recover_interrupted,
    remove_upload,
    sweep_uploads,
    worker_name,
)
from pubdata.store.models import StoreJob
from pubdata.store.schemas import JobRead

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.5  # seconds between progress writes of one job
# A job's stored error stays small whatever the file (a header of a million columns once made a 25 MB
# message): its message is cut to MAX_MESSAGE_CHARS, its details to MAX_DETAILS items of at most
# MAX_DETAIL_CHARS characters per text, each cut with a marker.
MAX_MESSAGE_CHARS = 2_000
MAX_DETAILS = 20
MAX_DETAIL_CHARS = 500
CUT = "…（已截断）"
ProgressCallback = Callable[[str, int, "int | None"], None]


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


def bounded_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` if it has at most ``limit`` characters, else its start and the cut marker (``limit`` in all)."""
    return text if len(text) <= limit else text[: limit - len(CUT)] + CUT


def _bounded(value: Any, depth: int = 0) -> Any:
    """Details as stored: texts, lists and objects cut (lists and objects to ``MAX_DETAILS`` items,
    with a marker item saying how many were left out)."""
    if isinstance(value, str):
        return bounded_text(value, MAX_DETAIL_CHARS)
    if depth >= 3 and isinstance(value, list | dict):
        return bounded_text(json.dumps(value, ensure_ascii=False), MAX_DETAIL_CHARS)
    if isinstance(value, list):
        kept = [_bounded(v, depth + 1) for v in value[:MAX_DETAILS]]
        return kept + ([f"…另有 {len(value) - MAX_DETAILS} 项未列出"] if len(value) > MAX_DETAILS else [])
    if isinstance(value, dict):
        items = list(value.items())
        kept_items = {bounded_text(str(k), 100): _bounded(v, depth + 1) for k, v in items[:MAX_DETAILS]}
        if len(items) > MAX_DETAILS:
            kept_items["…"] = f"另有 {len(items) - MAX_DETAILS} 项未列出"
        return kept_items
    return value


def _error_of(exc: BaseException) -> dict[str, Any]:
    """The error as a job stores it: code, Chinese message and details, bounded (see ``MAX_MESSAGE_CHARS``)."""
    if isinstance(exc, PubdataError):
        return {
            "code": exc.code,
            "message": bounded_text(exc.message),
            "details": _jsonable(_bounded(exc.details)),
        }
    if isinstance(exc, KeyboardInterrupt):
        return {"code": "store.job_interrupted", "message": "任务被中断，未发布任何数据", "details": None}
    return {
        "code": "store.job_crashed",
        "message": f"任务执行出错（{type(exc).__name__}），未发布任何数据；请联系运营方",
        "details": None,
    }


def _rejects_download(session: Session, job_id: str, result: loader.LoadResult) -> str | None:
    if not result.rejects_file:
        return None
    resource_id = session.scalar(select(StoreJob.resource_id).where(StoreJob.id == job_id))
    return f"/api/v1/resources/{resource_id}/versions/{result.version}/rejects.csv"


def _finish(
    session: Session,
    job_id: str,
    worker: str | None,
    *,
    result: loader.LoadResult | None = None,
    error: dict[str, Any] | None = None,
) -> bool:
    """Record the outcome of a job running under ``worker``; False if it no longer is (another
    process declared it interrupted — and may be running it again), in which case the caller must
    not commit the load."""
    now = utcnow()
    values: dict[str, Any] = {"finished_at": now, "heartbeat_at": now}
    if result is not None:
        values.update(
            state=SUCCEEDED,
            stage="完成",
            percent=100,
            error=None,  # a retried job's earlier interruption: ``attempts`` keeps the count
            rows_so_far=result.rows_loaded + result.rows_rejected,
            # what the job reports to its loader names the rejects by their download (read through
            # store.read.plan_rejects), never by the server's file path
            result=result.as_json() | {"rejects_file": _rejects_download(session, job_id, result)},
        )
    else:
        values.update(state=FAILED, stage="失败", error=error)
    done = session.execute(
        update(StoreJob)
        .where(StoreJob.id == job_id, StoreJob.state == RUNNING, StoreJob.worker.is_not_distinct_from(worker))
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

    def __init__(self, engine: Engine, job_id: str, worker: str | None, heartbeat_seconds: float) -> None:
        self._engine = engine
        self._job_id = job_id
        self._worker = worker
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
                        .where(
                            StoreJob.id == self._job_id,
                            StoreJob.state == RUNNING,
                            StoreJob.worker.is_not_distinct_from(self._worker),
                        )
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
    with session_scope(engine) as s:
        claimed = s.get(StoreJob, job_id)
        worker = claimed.worker if claimed is not None else None  # whose run this is (its claim)
    reporter = _Reporter(engine, job_id, worker, heartbeat_seconds)
    reporter.start()

    def progress(stage: str, percent: int, rows: int | None) -> None:
        reporter.report(stage, percent, rows)
        if on_progress is not None:
            on_progress(stage, percent, rows)

    session = new_session(engine)
    interrupted: BaseException | None = None
    ended = False  # this run recorded the job's outcome (else it was taken away: keep its upload)
    try:
        try:
            result = _execute(session, job_id, home, progress)
            ended = _finish(session, job_id, worker, result=result)
            if ended:
                session.commit()
            else:
                session.rollback()  # declared interrupted meanwhile: its version stays unpublished
                log.warning("job %s was no longer running when it finished; its load was discarded", job_id)
        except BaseException as exc:
            session.rollback()
            if not isinstance(exc, Exception):
                interrupted = exc  # Ctrl-C of the command line: recorded, then passed on
            elif not isinstance(exc, PubdataError):
                log.exception("job %s failed", job_id)
            with session_scope(engine) as s:
                ended = _finish(s, job_id, worker, error=_error_of(exc))
    finally:
        session.close()
        reporter.stop()
        if ended:
            remove_upload(home, job_id)
    if interrupted is not None:
        raise interrupted
    with session_scope(engine) as s:
        job = s.get(StoreJob, job_id)
        if job is None:
            raise JobNotFound(f"任务不存在：{job_id}")
        return job_read(job)


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
        _finish(session, job_id, job.worker, error=_error_of(exc))
    else:
        _finish(session, job_id, job.worker, result=result)
    finally:
        remove_upload(home, job_id)
    session.flush()
    done = session.get(StoreJob, job_id, populate_existing=True)
    assert done is not None
    return job_read(done)


class JobRunner:
    """Runs queued jobs in this process: a poller thread claims jobs while fewer than ``workers``
    run, each job in a thread of its own. ``wake()`` makes it look at once (after a job is queued);
    otherwise it looks every ``poll_seconds``. It also fails jobs whose process has died."""

    name = "pubdata-job-runner"

    def __init__(
        self,
        engine: Engine,
        home: Path,
        *,
        workers: int = 1,
        poll_seconds: float = 1.0,
        stale_seconds: float = 120.0,
        retry: Retry | None = None,
    ) -> None:
        self.engine = engine
        self.home = home
        self.workers = workers
        self.poll_seconds = poll_seconds
        self.stale_seconds = stale_seconds
        self.retry = retry or Retry()
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
            retry=Retry(settings.job_max_attempts, settings.job_retry_seconds),
        )

    def start(self) -> None:
        """Recover the jobs a dead process left running (retried, or dead), then start looking for
        queued ones."""
        if self.workers <= 0:
            return
        try:
            for job_id, state in self._recover(INTERRUPTED_AT_START).items():
                log.warning("job %s was interrupted by a restart: %s", job_id, state)
            sweep_uploads(self.engine, self.home, older_than=self.stale_seconds)
        except Exception:  # the server still starts; the periodic sweep tries again
            log.exception("job runner could not recover interrupted jobs at start")
        self._poller = threading.Thread(target=self._loop, name="pubdata-job-runner", daemon=True)
        self._poller.start()

    def _recover(self, message: str) -> dict[str, str]:
        return recover_interrupted(
            self.engine, self.home, stale_seconds=self.stale_seconds, message=message, retry=self.retry
        )

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
                    for job_id, state in self._recover(INTERRUPTED_STALE).items():
                        log.warning("job %s was interrupted (its process is gone): %s", job_id, state)
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
