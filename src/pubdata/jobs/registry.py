"""Handlers of jobs, by kind. A domain registers its handlers in its own ``tasks.py`` (the store in
``store/jobs/runner.py``); the processes that run jobs import those modules (``pubdata.workers``),
so this package never imports a domain.

A handler takes the job's ids and parameters (``Context.params``), never ORM objects, reports
progress through ``Context.progress`` and does its work in ``Context.session``: the runner commits
that session together with the job's success, and only while the job is still this run's (a job
declared interrupted and taken by another worker rolls its work back). Every handler is idempotent:
run twice, it changes nothing the second time (a settled month is a no-op success, a facts build of
the same source versions reuses the version…)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pubdata.authz import Permission
from pubdata.errors import Invalid

ProgressCallback = Callable[[str, int, "int | None"], None]


class UnknownJobKind(Invalid):
    code = "jobs.unknown_kind"


@dataclass(frozen=True)
class Context:
    """What a handler gets: the job's id, kind and parameters, the session its work is committed
    in, the engine (for work that reads a consistent snapshot of its own, like a backup), the home
    and the progress callback (stage in Chinese, percent, rows so far)."""

    job_id: str
    kind: str
    params: dict[str, Any]
    session: Session
    engine: Engine | None
    home: Path
    progress: ProgressCallback
    created_by: int | None
    created_via: str


@dataclass(frozen=True)
class Outcome:
    """What a successful run reports: stored as the job's ``result`` (JSON), and rows it handled."""

    result: dict[str, Any]
    rows: int | None = None


@dataclass(frozen=True)
class Handler:
    """How jobs of ``kind`` run. ``title``: the kind in Chinese (the portal). ``retry_errors``: an
    unexpected error (not a ``PubdataError``, which fails the job at once) is retried with backoff
    like an interruption; the store's loads fail instead (a broken file stays broken).
    ``retryable(job_id, home, created_via)``: whether an interrupted job may run again (an upload
    needs its file). ``on_end(job_id, home, state)``: clean-up once the job has ended.
    ``permission``: what a person queueing or re-queueing a job of this kind must also hold — the
    right to do the work itself (the job runs as the system): ``platform:jobs:manage`` alone would
    otherwise let the operator settle a month, which is the finance staff's."""

    kind: str
    title: str
    run: Callable[[Context], Outcome]
    retry_errors: bool = True
    retryable: Callable[[str, Path, str], bool] | None = None
    on_end: Callable[[str, Path, str], None] | None = None
    permission: Permission | None = None


_HANDLERS: dict[str, Handler] = {}


def register(handler: Handler) -> Handler:
    """Register (or replace, on reload) the handler of ``handler.kind``."""
    _HANDLERS[handler.kind] = handler
    return handler


def handler(kind: str) -> Handler:
    found = _HANDLERS.get(kind)
    if found is None:
        raise UnknownJobKind(f"未知的任务类型：{kind}（本进程未注册）", field="kind")
    return found


def kinds() -> dict[str, str]:
    """Every registered kind and its title."""
    return {k: h.title for k, h in sorted(_HANDLERS.items())}


def title(kind: str) -> str:
    found = _HANDLERS.get(kind)
    return found.title if found is not None else kind
