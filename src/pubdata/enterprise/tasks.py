"""Keeping the enterprise facts current, as jobs of the platform's job system (``pubdata.jobs``).

- ``facts.build`` (key ``facts.build``): build the facts as the system — a new version when a source
  table changed, the current version reused when nothing did (``build_facts`` compares the source
  versions), so the job run twice builds once. Parameters: ``year``, ``force``.
- ``FactsRefresher``: every ``PUBDATA_FACTS_REFRESH_SECONDS``, in the one process holding its lease,
  queues ``facts.build`` when the facts are stale; any worker runs it. The key keeps at most one
  such job queued or running, however many schedulers there are.

``refresh_if_stale`` builds at once in the caller's process (tests, and the command line)."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Engine

from pubdata.authz import SYSTEM, Permission
from pubdata.db import session_scope
from pubdata.enterprise import service
from pubdata.enterprise.errors import (
    FactsBuildConflict,
    InvalidFactSources,
    RegistryMissing,
    SourceColumnsMissing,
    SourceUnitMissing,
)
from pubdata.enterprise.schemas import FactsBuild
from pubdata.jobs import queue, registry
from pubdata.periodic import Periodic

log = logging.getLogger(__name__)
KIND = "facts.build"
KEY = queue.key_for(KIND)


def refresh_if_stale(engine: Engine, home: Path) -> FactsBuild | None:
    """Build the facts (as the system) if they are stale; None when nothing was built (current,
    no registry data yet, another process built them first, or the fact-sources configuration has
    a problem — logged, and left for ``pubdata facts build`` to report)."""
    with session_scope(engine) as session:
        try:
            if not service.facts_stale(session):
                return None
            return service.build_facts(session, SYSTEM, home=home, via="refresh")
        except (RegistryMissing, FactsBuildConflict):
            return None
        except (InvalidFactSources, SourceColumnsMissing, SourceUnitMissing) as exc:
            log.warning("enterprise facts not refreshed: %s", exc.message)
            return None


def _build(ctx: registry.Context) -> registry.Outcome:
    ctx.progress("生成企业档案", 5, None)
    year = ctx.params.get("year")
    try:
        built = service.build_facts(
            ctx.session,
            SYSTEM,
            home=ctx.home,
            year=int(year) if year is not None else None,
            force=bool(ctx.params.get("force", False)),
            via="job",
        )
    except RegistryMissing as exc:  # nothing to build from yet: nothing done, not an error
        return registry.Outcome({"built": False, "skipped": exc.message})
    version = built.version
    return registry.Outcome(
        {"version": version.number, "built": built.built, "year": version.year}, rows=version.enterprises
    )


registry.register(
    registry.Handler(kind=KIND, title="企业档案生成", run=_build, permission=Permission.ENTERPRISE_FACTS_BUILD)
)


def stale(engine: Engine) -> bool:
    """Whether a build would make a new version (False while the configuration has a problem)."""
    with session_scope(engine) as session:
        try:
            if service.current_version(session) is None and not service.registry_published(session):
                return False  # nothing to build from yet
            return service.facts_stale(session)
        except (InvalidFactSources, SourceColumnsMissing, SourceUnitMissing) as exc:
            log.warning("enterprise facts not refreshed: %s", exc.message)
            return False


class FactsRefresher(Periodic):
    """Queues a facts build every ``interval`` seconds when the facts are stale (``interval`` 0
    disables it)."""

    name = "pubdata-facts-refresh"

    def __init__(self, engine: Engine, home: Path, interval: float) -> None:
        super().__init__(interval, lease_engine=engine)
        self.engine = engine
        self.home = home

    def run_once(self) -> None:
        if stale(self.engine):
            job_id, new = queue.enqueue_committed(self.engine, KIND, key=KEY)
            if new:
                log.info("enterprise facts are stale: job %s queued", job_id)
