"""Keeping the enterprise facts current: ``refresh_if_stale`` builds a new version when a source
table changed, and ``FactsRefresher`` (started by every server process, see ``app.py``) calls it
every ``PUBDATA_FACTS_REFRESH_SECONDS``. Several processes may refresh at once: the loser of a race
for the next version number gets ``FactsBuildConflict`` and leaves it to the winner."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from sqlalchemy import Engine

from pubdata.authz import SYSTEM
from pubdata.db import session_scope
from pubdata.enterprise import service
from pubdata.enterprise.errors import FactsBuildConflict, RegistryMissing
from pubdata.enterprise.schemas import FactsBuild

log = logging.getLogger(__name__)


def refresh_if_stale(engine: Engine, home: Path) -> FactsBuild | None:
    """Build the facts (as the system) if they are stale; None when nothing was built (current,
    no registry data yet, or another process built them first)."""
    with session_scope(engine) as session:
        if not service.facts_stale(session):
            return None
        try:
            return service.build_facts(session, SYSTEM, home=home, via="refresh")
        except (RegistryMissing, FactsBuildConflict):
            return None


class FactsRefresher:
    """A daemon thread that refreshes the facts every ``interval`` seconds (the first check after
    one interval); ``interval`` 0 disables it."""

    def __init__(self, engine: Engine, home: Path, interval: float) -> None:
        self.engine = engine
        self.home = home
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.interval <= 0:
            return
        self._thread = threading.Thread(target=self._loop, name="pubdata-facts-refresh", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                built = refresh_if_stale(self.engine, self.home)
                if built is not None:
                    log.info("enterprise facts refreshed: version %s", built.version.number)
            except Exception:  # a source may be broken; try again next time
                log.exception("enterprise facts refresh failed")
