"""Keeping the enterprise facts current: ``refresh_if_stale`` builds a new version when a source
table changed, and ``FactsRefresher`` (started by every server process, see ``app.py``) calls it
every ``PUBDATA_FACTS_REFRESH_SECONDS``. Several processes may refresh at once: the loser of a race
for the next version number gets ``FactsBuildConflict`` and leaves it to the winner."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Engine

from pubdata.authz import SYSTEM
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
from pubdata.periodic import Periodic

log = logging.getLogger(__name__)


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


class FactsRefresher(Periodic):
    """Refreshes the facts every ``interval`` seconds (``interval`` 0 disables it)."""

    name = "pubdata-facts-refresh"

    def __init__(self, engine: Engine, home: Path, interval: float) -> None:
        super().__init__(interval, lease_engine=engine)
        self.engine = engine
        self.home = home

    def run_once(self) -> None:
        built = refresh_if_stale(self.engine, self.home)
        if built is not None:
            log.info("enterprise facts refreshed: version %s", built.version.number)
