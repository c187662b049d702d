"""The platform's background work, behind one interface: what runs besides answering requests.

- the job runner: queued jobs (ingestion of uploads), claimed from the database;
- the facts refresher: a new enterprise-facts version when a source table changed;
- the match follower: policy matching of every pack in force when the facts changed;
- the score follower: credit scores of every enterprise (the expert card) when the facts changed.

``running(engine, settings)`` starts them all and stops them in reverse order. Today every server
process runs them (``app.py``): each claims work through the database, so several processes
cooperate. A separate worker process (issue 14) runs the same list; nothing else needs to know
what is in it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine

from pubdata.enterprise.tasks import FactsRefresher
from pubdata.finance.tasks import ScoreFollower
from pubdata.policy.tasks import MatchFollower
from pubdata.settings import Settings
from pubdata.store.jobs.runner import JobRunner


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
        ),
    )


@contextmanager
def running(engine: Engine, settings: Settings) -> Iterator[Workers]:
    """Start every worker (each disabled by its own setting: ``PUBDATA_JOB_WORKERS=0``,
    ``PUBDATA_FACTS_REFRESH_SECONDS=0``); stop them, last started first, when the block ends."""
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
