"""Matching follows the facts: ``match_if_stale`` matches every pack in force whose latest run is not
of the current facts version and pack text, so a new facts version (built by the facts refresher or
by hand) turns into notices for newly eligible enterprises without anyone pressing a button.
``MatchFollower`` (started by every server process, see ``app.py``) calls it every
``PUBDATA_FACTS_REFRESH_SECONDS``. Several processes may try at once: on PostgreSQL the runs of a
pack are serialised and the later one finds the run already done; on SQLite the later writer fails
and leaves it to the winner."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from pubdata.authz import SYSTEM
from pubdata.db import session_scope
from pubdata.enterprise import service as enterprise
from pubdata.periodic import Periodic
from pubdata.policy import service
from pubdata.policy.matching import match
from pubdata.policy.matching.schemas import MatchRunRead

log = logging.getLogger(__name__)


def match_if_stale(engine: Engine, home: Path) -> list[MatchRunRead]:
    """Match (as the system) every pack in force today whose latest finished run used another facts
    version or another text of the pack; the runs made (none before the first facts build)."""
    runs = []
    with session_scope(engine) as session:
        facts = enterprise.current_version(session)
        if facts is None:
            return []
        for pack in service.list_packs(SYSTEM, on=datetime.now(match.SHANGHAI).date()):
            if not pack.notifies:  # recognition packs (tiers): no notices
                continue
            latest = match.latest_run(session, pack.id)
            if latest is not None and latest[0].facts_version == facts.number and latest[1].digest == pack.digest:
                continue
            try:
                runs.append(match.match_pack(session, SYSTEM, pack.id, home=home))
            except match.PackNotMatchable as exc:  # until the facts are rebuilt; the others go on
                log.warning("%s", exc.message)
    return runs


class MatchFollower(Periodic):
    """Runs ``match_if_stale`` every ``interval`` seconds (``interval`` 0 disables it)."""

    name = "pubdata-policy-match"

    def __init__(self, engine: Engine, home: Path, interval: float) -> None:
        super().__init__(interval, lease_engine=engine)
        self.engine = engine
        self.home = home

    def run_once(self) -> None:
        for run in match_if_stale(self.engine, self.home):
            log.info("policy %s matched: run %s, %s new notices", run.pack_id, run.id, run.newly_eligible)
