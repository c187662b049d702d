"""Running jobs: one job to its end (``run_job``, ``run_inline``) and the ``JobRunner`` thread pool
every worker (and, embedded, every server) process starts.

A job runs its kind's handler (``pubdata.jobs.registry``) in a session of its own and records its
outcome in that same transaction — ``succeeded`` with the handler's result, and only while the job
is still this run's claim (a job another worker declared interrupted rolls its work back), so a job
never says succeeded for work that is not there and its effects are committed exactly once. A
``PubdataError`` fails the job (the input is wrong: running it again would fail again); any other
error is retried with backoff like an interruption, and the job is dead after ``max_attempts``
runs (a kind may choose to fail instead: the store's loads). A process that dies leaves the job
``running``: the next runner that starts, or any runner's periodic sweep, puts it back in the queue.

Progress (stage, percent, rows so far) and a heartbeat are written by a small reporter thread in
short transactions of their own, at most every ``PROGRESS_INTERVAL`` seconds, so the job never
waits on the database for them.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from pubdata.db import new_session, session_scope, utcnow
from pubdata.errors import PubdataError
from pubdata.jobs import queue, registry
from pubdata.jobs.models import Job
from pubdata.jobs.registry import Context, ProgressCallback

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.5  # seconds between progress writes of one job
# A job's stored error stays small whatever the input (a header of a million columns once made a 25 MB
# message): its message is cut to MAX_MESSAGE_CHARS, its details to MAX_DETAILS items of at most
# MAX_DETAIL_CHARS characters per text, each cut with a marker.
MAX_MESSAGE_CHARS = 2_000
MAX_DETAILS = 20
MAX_DETAIL_CHARS = 500
CUT = "…（已截断）"
Maintenance = Callable[[Engine, Path, float], Any]
_MAINTENANCE: list[Maintenance] = []


def register_maintenance(task: Maintenance) -> None:
    """Work a runner does at start and with each sweep, given ``(engine, home, stale_seconds)``
    (the store removes uploads that belong to no job)."""
    if task not in _MAINTENANCE:
        _MAINTENANCE.append(task)


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


def error_of(exc: BaseException, kind: str = "ingest") -> dict[str, Any]:
    """The error as a job stores it: code, Chinese message and details, bounded (see ``MAX_MESSAGE_CHARS``)."""
    if isinstance(exc, PubdataError):
        return {
            "code": exc.code,
            "message": bounded_text(exc.message),
            "details": _jsonable(_bounded(exc.details)),
        }
    if isinstance(exc, KeyboardInterrupt):
        return {"code": queue.error_code(kind, "interrupted"), "message": "任务被中断，未发布任何数据", "details": None}
    return {
        "code": queue.error_code(kind, "crashed"),
        "message": f"任务执行出错（{type(exc).__name__}），未发布任何数据；请联系运营方",
        "details": None,
    }


def _end(session: Session, job_id: str, worker: str | None, values: dict[str, Any]) -> bool:
    """Write a job's end (or retry) while it is still ``worker``'s run; False if it no longer is
    (another process declared it interrupted — and may be running it again): then the caller must
    not commit the job's work."""
    done = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == queue.RUNNING, Job.worker.is_not_distinct_from(worker))
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
    ``PROGRESS_INTERVAL`` seconds, so the job never waits on the database (on SQLite it may hold
    the write lock while it commits)."""

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
                        update(Job)
                        .where(
                            Job.id == self._job_id,
                            Job.state == queue.RUNNING,
                            Job.worker.is_not_distinct_from(self._worker),
                        )
                        .values(heartbeat_at=utcnow(), **values)
                        .execution_options(synchronize_session=False)
                    )
            except Exception:  # progress is best effort; the job goes on
                log.warning("could not record progress of job %s", self._job_id, exc_info=True)
            last = time.monotonic()


def _context(session: Session, job: Job, engine: Engine | None, home: Path, progress: ProgressCallback) -> Context:
    return Context(
        job_id=job.id, kind=job.kind, params=dict(job.params or {}), session=session, engine=engine, home=home,
        progress=progress, created_by=job.created_by, created_via=job.created_via,
    )  # fmt: skip


def _failure(kind: str, attempts: int, exc: Exception, retry: queue.Retry) -> dict[str, Any]:
    """A run that raised: failed for a ``PubdataError`` (or a kind that does not retry errors), else
    back in the queue with backoff, or dead after its last attempt."""
    try:
        retries = registry.handler(kind).retry_errors
    except registry.UnknownJobKind:
        retries = False
    if isinstance(exc, PubdataError) or not retries:
        return queue.finish_values(error=error_of(exc, kind))
    runs = attempts + 1
    message = f"任务执行出错（{type(exc).__name__}）"
    if runs < retry.max_attempts:
        return queue.retry_values(kind, runs, message + "，稍后重试", retry, what="crashed")
    return queue.dead_values(kind, runs, message)


def run_job(
    engine: Engine,
    job_id: str,
    *,
    home: Path,
    on_progress: ProgressCallback | None = None,
    heartbeat_seconds: float = 30.0,
    retry: queue.Retry | None = None,
) -> str:
    """Run a claimed (``running``) job to its end in its own transactions; its state afterwards.
    Never raises for a failing job: the job records it. ``on_progress`` sees every progress report
    (the command line's progress bar)."""
    retry = retry or queue.Retry()
    with session_scope(engine) as s:
        claimed = s.get(Job, job_id)
        if claimed is None:
            raise queue.JobNotFound(f"任务不存在：{job_id}")
        worker, kind, attempts = claimed.worker, claimed.kind, claimed.attempts or 0
    reporter = _Reporter(engine, job_id, worker, heartbeat_seconds)
    reporter.start()

    def progress(stage: str, percent: int, rows: int | None) -> None:
        reporter.report(stage, percent, rows)
        if on_progress is not None:
            on_progress(stage, percent, rows)

    session = new_session(engine)
    interrupted: BaseException | None = None
    state: str | None = None  # how this run left the job (None: it was taken away)
    try:
        try:
            job = session.get(Job, job_id)
            assert job is not None
            outcome = registry.handler(kind).run(_context(session, job, engine, home, progress))
            values = queue.finish_values(result=_jsonable(outcome.result), rows=outcome.rows)
            if _end(session, job_id, worker, values):
                session.commit()
                state = queue.SUCCEEDED
            else:
                session.rollback()  # declared interrupted meanwhile: its work stays uncommitted
                log.warning("job %s was no longer running when it finished; its work was discarded", job_id)
        except BaseException as exc:
            session.rollback()
            if not isinstance(exc, Exception):
                interrupted = exc  # Ctrl-C of the command line: recorded, then passed on
                values = queue.finish_values(error=error_of(exc, kind))
            else:
                if not isinstance(exc, PubdataError):
                    log.exception("job %s failed", job_id)
                values = _failure(kind, attempts, exc, retry)
            with session_scope(engine) as s:
                if _end(s, job_id, worker, values):
                    state = values["state"]
    finally:
        session.close()
        reporter.stop()
        if state in queue.ENDED:
            queue._ended(kind, job_id, home, state)
    if interrupted is not None:
        raise interrupted
    with session_scope(engine) as s:
        return s.get(Job, job_id).state  # type: ignore[union-attr]


def run_inline(session: Session, job_id: str, *, home: Path, retry: queue.Retry | None = None) -> Job:
    """Run a queued or running job to its end inside the caller's transaction (its work in a
    savepoint, so a failure is recorded and its partial work rolled back). For tests, whose data
    other sessions cannot see, and for callers that want the work in their own transaction."""
    job = session.get(Job, job_id)
    if job is None:
        raise queue.JobNotFound(f"任务不存在：{job_id}")
    if job.state == queue.QUEUED:
        job.state, job.stage, job.started_at = queue.RUNNING, "开始", utcnow()
        session.flush()
    worker, kind = job.worker, job.kind

    def progress(stage: str, percent: int, rows: int | None) -> None:
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(**_progress_values(stage, percent, rows))
            .execution_options(synchronize_session=False)
        )

    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else None
    try:
        with session.begin_nested():
            outcome = registry.handler(kind).run(_context(session, job, engine, home, progress))
    except Exception as exc:
        _end(session, job_id, worker, _failure(kind, job.attempts or 0, exc, retry or queue.Retry()))
    else:
        _end(session, job_id, worker, queue.finish_values(result=_jsonable(outcome.result), rows=outcome.rows))
    session.flush()
    done = session.get(Job, job_id, populate_existing=True)
    assert done is not None
    if done.state in queue.ENDED:
        queue._ended(kind, job_id, home, done.state)
    return done


class JobRunner:
    """Runs queued jobs of every kind in this process: a poller thread claims jobs while fewer than
    ``workers`` run, each job in a thread of its own. ``wake()`` makes it look at once (after a job
    is queued); otherwise it looks every ``poll_seconds``. It also recovers jobs whose process died."""

    name = "pubdata-job-runner"

    def __init__(
        self,
        engine: Engine,
        home: Path,
        *,
        workers: int = 1,
        poll_seconds: float = 1.0,
        stale_seconds: float = 120.0,
        retry: queue.Retry | None = None,
    ) -> None:
        self.engine = engine
        self.home = home
        self.workers = workers
        self.poll_seconds = poll_seconds
        self.stale_seconds = stale_seconds
        self.retry = retry or queue.Retry()
        self.worker = queue.worker_name()
        self._active: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._poller: threading.Thread | None = None

    @classmethod
    def from_settings(cls, engine: Engine, settings: Any) -> JobRunner:
        return cls(
            engine,
            settings.resolved_home,
            workers=settings.job_workers,
            poll_seconds=settings.job_poll_seconds,
            stale_seconds=settings.job_stale_seconds,
            retry=queue.Retry(settings.job_max_attempts, settings.job_retry_seconds),
        )

    def start(self) -> None:
        """Recover the jobs a dead process left running (retried, or dead), then start looking for
        queued ones."""
        if self.workers <= 0:
            return
        try:
            for job_id, state in self._recover(queue.INTERRUPTED_AT_START).items():
                log.warning("job %s was interrupted by a restart: %s", job_id, state)
            for task in _MAINTENANCE:
                task(self.engine, self.home, self.stale_seconds)
        except Exception:  # the server still starts; the periodic sweep tries again
            log.exception("job runner could not recover interrupted jobs at start")
        self._poller = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._poller.start()

    def _recover(self, message: str) -> dict[str, str]:
        return queue.recover_interrupted(
            self.engine, self.home, stale_seconds=self.stale_seconds, message=message, retry=self.retry
        )

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming; wait up to ``timeout`` seconds for running jobs. A job still running when
        the process exits is recovered by the next runner that starts."""
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
                for job_id in queue.claim(self.engine, self.worker, free):
                    self._launch(job_id)
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + self.stale_seconds / 2
                    for job_id, state in self._recover(queue.INTERRUPTED_STALE).items():
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
            run_job(
                self.engine,
                job_id,
                home=self.home,
                heartbeat_seconds=max(1.0, self.stale_seconds / 4),
                retry=self.retry,
            )
        except Exception:
            log.exception("job %s could not be run", job_id)
        finally:
            with self._lock:
                self._active.discard(job_id)
            self._wake.set()
