"""A daemon thread that runs a piece of work every ``interval`` seconds (the first run after one
interval; ``interval`` 0 disables it). A failing run is logged and tried again next time. The facts
refresher, the policy-match follower and the score follower are three of these.

Given an engine, a run happens only in the process holding the work's lease (``pubdata.leases``,
named after the work, renewed each run, for three intervals): however many servers and workers a
deployment runs, each piece of periodic work is done by one of them at a time, and by another when
that one stops or dies."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from pubdata import leases, processes

log = logging.getLogger(__name__)
MIN_LEASE_SECONDS = 30.0


class Periodic:
    name = "pubdata-periodic"

    def __init__(self, interval: float, *, lease_engine: Engine | None = None) -> None:
        self.interval = interval
        self.lease_engine = lease_engine
        self.holder = processes.process_name()
        self.holding = False  # this process held the lease at its last run
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> None:
        """One run of the work (subclasses)."""
        raise NotImplementedError

    def start(self) -> None:
        if self.interval <= 0:
            return
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self.lease_engine is not None and self.holding:  # a lease it holds: no write otherwise
                try:
                    leases.release(self.lease_engine, self.name, self.holder)
                except Exception:  # the database is gone: the lease runs out by itself
                    log.exception("%s could not release its lease", self.name)

    def holds_lease(self) -> bool:
        """Whether this process does the work now (always, without an engine)."""
        if self.lease_engine is None:
            return True
        ttl = max(3 * self.interval, MIN_LEASE_SECONDS)
        self.holding = leases.hold(self.lease_engine, self.name, self.holder, ttl)
        return self.holding

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if self.holds_lease():
                    self.run_once()
            except Exception:  # e.g. a broken source or a concurrent writer: try again next time
                log.exception("%s failed", self.name)
