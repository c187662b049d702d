"""A daemon thread that runs a piece of work every ``interval`` seconds in a server process (the
first run after one interval; ``interval`` 0 disables it). A failing run is logged and tried again
next time. The facts refresher and the policy-match follower are two of these."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class Periodic:
    name = "pubdata-periodic"

    def __init__(self, interval: float) -> None:
        self.interval = interval
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

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except Exception:  # e.g. a broken source or a concurrent writer: try again next time
                log.exception("%s failed", self.name)
