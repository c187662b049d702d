"""The platform's background work, behind one interface: what runs besides answering requests.

- the job runner: queued jobs of every kind (``pubdata.jobs``), claimed from the database; this
  module imports every domain's ``tasks`` so that their handlers are registered;
- the schedulers, each run by the one process of the deployment holding its lease, which only
  queue jobs (deduplicated by key; any worker runs them):
  the facts refresher (a facts build when a source table changed), the match follower (policy
  matching when the facts changed), the score follower (credit scores when the facts changed) and,
  with ``PUBDATA_SETTLEMENT_AUTO``, the settlement scheduler (the previous month, once it is over).

``running(engine, settings)`` starts them all and stops them in reverse order. Embedded, every
server process runs them (``app.py``); ``pubdata serve --no-workers`` leaves them to ``pubdata
worker`` processes. Nothing else needs to know what is in the list."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine

from pubdata import backup  # noqa: F401 - registers the backup job
from pubdata.enterprise.tasks import FactsRefresher
from pubdata.finance.tasks import ScoreFollower
from pubdata.jobs.runner import JobRunner
from pubdata.market.tasks import SettlementScheduler
from pubdata.policy.tasks import MatchFollower
from pubdata.settings import Settings
from pubdata.store.jobs import runner as _ingest  # noqa: F401 - registers the ingest job

SETTLEMENT_CHECK_SECONDS = 600.0


class Worker(Protocol):
    name: str

    def start(self) -> None: ...

    def stop(self, timeout: float = 10.0) -> None: ...


@dataclass(frozen=True)
class Workers:
    job_runner: JobRunner
    all: tuple[Worker, ...]


def workers(engine: Engine, settings: Settings) -> Workers:
    """The background work of a process, not started."""
    home, every = settings.resolved_home, settings.facts_refresh_seconds
    runner = JobRunner.from_settings(engine, settings)
    return Workers(
        runner,
        (
            runner,
            FactsRefresher(engine, home, every),
            MatchFollower(engine, home, every),
            ScoreFollower(engine, home, every),
            SettlementScheduler(engine, SETTLEMENT_CHECK_SECONDS if settings.settlement_auto else 0),
        ),
    )


@contextmanager
def running(engine: Engine, settings: Settings) -> Iterator[Workers]:
    """Start every worker (each disabled by its own setting: ``PUBDATA_JOB_WORKERS=0``,
    ``PUBDATA_FACTS_REFRESH_SECONDS=0``, ``PUBDATA_SETTLEMENT_AUTO``); stop them, last started first,
    when the block ends."""
    work = workers(engine, settings)
    started: list[Worker] = []
    try:
        for worker in work.all:
            worker.start()
            started.append(worker)
        yield work
    finally:
        for worker in reversed(started):
            worker.stop()
