"""The platform's job queue: rows of the ``job`` table, in the database the platform already runs
(PostgreSQL in production, SQLite embedded), so there is no broker to start and a job's effects can
commit in the same transaction as its success.

- ``enqueue``: insert a queued job; with a ``key`` it is deduplicated (``active_key`` is unique while
  a job is queued or running, so two schedulers enqueueing the same key make one job);
- ``claim``: one ``UPDATE … WHERE id = ? AND state = 'queued'`` per job, in its own transaction —
  if several workers race for a job exactly one update matches (an ingest job also waits while
  another load of its table runs);
- ``recover_interrupted``: running jobs whose process is gone go back to the queue after a backoff
  (``Retry``), and are dead (the dead-letter state) after ``max_attempts`` runs;
- ``finish_values``: what a job's row becomes when it ends, ``retry_values`` when it is retried;
- ``requeue``: the operator puts a dead or failed job back (audited).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from pubdata import processes
from pubdata.db import session_scope, utcnow
from pubdata.errors import Conflict, NotFound
from pubdata.jobs import registry
from pubdata.jobs.models import Job

QUEUED, RUNNING, SUCCEEDED, FAILED, DEAD = "queued", "running", "succeeded", "failed", "dead"
ACTIVE = (QUEUED, RUNNING)
STATES = (QUEUED, RUNNING, SUCCEEDED, FAILED, DEAD)
ENDED = (SUCCEEDED, FAILED, DEAD)
INTERRUPTED_AT_START = "服务重启，任务中断"
INTERRUPTED_STALE = "执行任务的进程已停止响应，任务中断"


class JobNotFound(NotFound):
    code = "jobs.not_found"


class JobNotRequeueable(Conflict):
    code = "jobs.not_requeueable"


def worker_name() -> str:
    """Identifies the process running a job: ``host:pid:random``."""
    return processes.process_name()


def error_code(kind: str, what: str) -> str:
    """The code of a job's interruption, death or crash: the store's loads keep theirs."""
    return f"store.job_{what}" if kind == "ingest" else f"jobs.{what}"


@dataclass(frozen=True)
class Retry:
    """How interrupted (and, for most kinds, crashed) jobs are retried: up to ``max_attempts`` runs
    in all, the n-th retry waiting ``seconds × 2^(n-1)`` (at most an hour); then the job is dead."""

    max_attempts: int = 3
    seconds: float = 5.0

    def delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(3600.0, self.seconds * 2 ** max(0, attempts - 1)))


# --- enqueueing --------------------------------------------------------------------------------------


def key_for(kind: str, params: dict[str, Any] | None = None) -> str:
    """The deduplication key of a job of ``kind`` with ``params`` (schedulers and the operator use
    the same one): ``market.settle:month=2026-11``; long parameters are hashed."""
    given = params or {}
    parts = ",".join(f"{k}={given[k]}" for k in sorted(given))
    key = f"{kind}:{parts}" if parts else kind
    if len(key) > 120:
        key = f"{kind}:{hashlib.sha256(parts.encode()).hexdigest()[:32]}"
    return key


def enqueue(
    session: Session,
    kind: str,
    *,
    params: dict[str, Any] | None = None,
    key: str | None = None,
    created_by: int | None = None,
    via: str = "schedule",
) -> tuple[str, bool]:
    """Queue a job of ``kind`` (flushed with the caller's transaction): its id, and whether it is
    new. With ``key``, a job of that key already queued or running is returned instead (not new):
    the unique ``active_key`` makes that hold across processes, whoever commits first wins."""
    registry.handler(kind)  # a kind no process could run is refused here
    if key is not None:
        existing = session.scalar(select(Job.id).where(Job.active_key == key))
        if existing is not None:
            return existing, False
    job = Job(
        id=str(uuid.uuid4()),
        kind=kind,
        key=key,
        active_key=key,
        params=params or {},
        state=QUEUED,
        stage="排队中",
        created_by=created_by,
        created_via=via,
    )
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:  # another process queued the same key meanwhile
        existing = session.scalar(select(Job.id).where(Job.active_key == key))
        if existing is None:
            raise
        return existing, False
    return job.id, True


def enqueue_committed(engine: Engine, kind: str, **kwargs: Any) -> tuple[str, bool]:
    """``enqueue`` in a transaction of its own (a scheduler); a key raced to by another process's
    commit counts as already queued."""
    try:
        with session_scope(engine) as s:
            return enqueue(s, kind, **kwargs)
    except IntegrityError:
        with session_scope(engine) as s:
            existing = s.scalar(select(Job.id).where(Job.active_key == kwargs.get("key")))
        if existing is None:
            raise
        return existing, False


# --- claiming and recovering -------------------------------------------------------------------------


def claim(engine: Engine, worker: str, limit: int) -> list[str]:
    """Claim up to ``limit`` queued jobs whose backoff is over, oldest first, for ``worker``. Each
    claim is one ``UPDATE … WHERE state = 'queued'`` in its own transaction: if several processes
    race for a job, exactly one update matches. An ingest job waits while another load of its table
    is running. Reads first, so an idle queue costs no write."""
    if limit <= 0:
        return []
    running = aliased(Job)
    busy = select(running.resource_id).where(running.state == RUNNING, running.resource_id.is_not(None))
    with session_scope(engine) as s:
        candidates = s.execute(
            select(Job.id, Job.resource_id)
            .where(
                Job.state == QUEUED,
                or_(Job.not_before.is_(None), Job.not_before <= utcnow()),
                or_(Job.resource_id.is_(None), Job.resource_id.not_in(busy)),
            )
            .order_by(Job.created_at, Job.id)
            .limit(limit * 4)
        ).all()
    claimed: list[str] = []
    resources: set[str] = set()
    for job_id, resource_id in candidates:
        if len(claimed) >= limit:
            break
        if resource_id is not None and resource_id in resources:
            continue  # one load of a table at a time: its versions are numbered in order
        conditions = [Job.id == job_id, Job.state == QUEUED]
        if resource_id is not None:
            conditions.append(~exists().where(running.resource_id == resource_id, running.state == RUNNING))
        now = utcnow()
        with session_scope(engine) as s:
            done = s.execute(
                update(Job)
                .where(*conditions)
                .values(state=RUNNING, stage="开始", worker=worker, started_at=now, heartbeat_at=now)
                .execution_options(synchronize_session=False)
            )
            if done.rowcount:  # type: ignore[attr-defined]
                claimed.append(job_id)
                if resource_id is not None:
                    resources.add(resource_id)
    return claimed


def is_gone(worker: str | None, heartbeat_at: datetime | None, stale_seconds: float) -> bool:
    """Whether a running job's process is gone: no heartbeat for ``stale_seconds``, or a process on
    this machine that no longer exists."""
    if heartbeat_at is None or utcnow() - heartbeat_at > timedelta(seconds=stale_seconds):
        return True
    return processes.is_gone(worker)


def retry_values(kind: str, runs: int, message: str, retry: Retry, what: str = "interrupted") -> dict[str, Any]:
    """A job going back to the queue after its ``runs``-th run was interrupted (or crashed)."""
    return {
        "state": QUEUED, "stage": f"等待重试（已中断 {runs} 次）", "percent": 0, "rows_so_far": None,
        "worker": None, "attempts": runs, "not_before": utcnow() + retry.delay(runs),
        "error": {"code": error_code(kind, what), "message": message, "details": None},
    }  # fmt: skip


def dead_values(kind: str, runs: int, message: str) -> dict[str, Any]:
    """A job that ran ``runs`` times without finishing: dead, not retried again until re-queued."""
    hint = "请检查文件后重新上传" if kind == "ingest" else "运营方可在“后台任务”页面重新排队"
    return {
        "state": DEAD, "stage": "已停止重试", "finished_at": utcnow(), "attempts": runs, "active_key": None,
        "error": {"code": error_code(kind, "dead"), "details": None,
                  "message": f"{message}：任务已中断 {runs} 次，不再重试（{hint}）"},
    }  # fmt: skip


def finish_values(
    *, result: dict[str, Any] | None = None, rows: int | None = None, error: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A job's row when it ends: succeeded with its result, or failed with its error."""
    now = utcnow()
    values: dict[str, Any] = {"finished_at": now, "heartbeat_at": now, "active_key": None}
    if error is None:
        # error None: a retried job's earlier interruption is counted in ``attempts``
        values.update(state=SUCCEEDED, stage="完成", percent=100, error=None, result=result)
        if rows is not None:
            values["rows_so_far"] = rows
    else:
        values.update(state=FAILED, stage="失败", error=error)
    return values


def _retryable(kind: str, job_id: str, home: Path, via: str) -> bool:
    if via == "cli":
        return False  # run in the foreground: its caller is gone
    try:
        found = registry.handler(kind)
    except registry.UnknownJobKind:
        return True  # run by another kind of process: back to the queue
    return found.retryable(job_id, home, via) if found.retryable is not None else True


def _ended(kind: str, job_id: str, home: Path, state: str) -> None:
    try:
        found = registry.handler(kind)
    except registry.UnknownJobKind:
        return
    if found.on_end is not None:
        found.on_end(job_id, home, state)


def recover_interrupted(
    engine: Engine, home: Path, *, stale_seconds: float, message: str, retry: Retry | None = None
) -> dict[str, str]:
    """Recover the running jobs whose process is gone (a process on this machine that no longer
    exists, or a heartbeat older than ``stale_seconds``): each goes back to the queue after a
    backoff — nothing it did was committed (a job's work commits with its success) — until it has
    run ``max_attempts`` times, when it is dead; a job the command line ran in the foreground fails
    (its caller is gone). Returns each recovered job's new state."""
    retry = retry or Retry()
    with session_scope(engine) as s:
        running = s.execute(
            select(Job.id, Job.kind, Job.worker, Job.heartbeat_at, Job.attempts, Job.created_via)
            .where(Job.state == RUNNING)
        ).all()  # fmt: skip
    outcome: dict[str, str] = {}
    for job_id, kind, worker, beat, attempts, via in running:
        if not is_gone(worker, beat, stale_seconds):
            continue
        runs = attempts + 1
        if via == "cli":
            values = finish_values(error={"code": error_code(kind, "interrupted"), "message": message, "details": None})
        elif runs < retry.max_attempts and _retryable(kind, job_id, home, via):
            values = retry_values(kind, runs, message, retry)
        else:
            values = dead_values(kind, runs, message)
        with session_scope(engine) as s:
            done = s.execute(
                update(Job)
                .where(Job.id == job_id, Job.state == RUNNING, Job.worker.is_not_distinct_from(worker))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if done.rowcount:  # type: ignore[attr-defined]
                outcome[job_id] = values["state"]
        if outcome.get(job_id) in ENDED:
            _ended(kind, job_id, home, outcome[job_id])
    return outcome


def requeue_row(session: Session, job: Job) -> None:
    """Put an ended (dead or failed) job back in the queue at once, with a fresh count of attempts.
    ``JobNotRequeueable`` if it has not ended badly or another job of its key is queued or running."""
    if job.state not in (DEAD, FAILED):
        raise JobNotRequeueable(f"只能重新排队已停止重试或失败的任务；该任务状态为 {job.state}")
    if job.key is not None:
        other = session.scalar(select(Job.id).where(Job.active_key == job.key, Job.id != job.id))
        if other is not None:
            raise JobNotRequeueable(f"同一工作的另一个任务正在排队或运行（任务 {other}）")
    job.state, job.stage, job.percent, job.rows_so_far = QUEUED, "排队中（重新排队）", 0, None
    job.worker, job.attempts, job.not_before, job.finished_at = None, 0, None, None
    job.started_at, job.heartbeat_at, job.active_key, job.result = None, None, job.key, None
    session.flush()
