"""Scoring follows the facts: ``score_if_stale`` scores every enterprise with the shipped expert card
when its latest finished run is not of the current facts version and card text, so a new facts
version (built by the facts refresher or by hand) gets scores without anyone pressing a button.
``ScoreFollower`` calls it every ``interval`` seconds; it is meant for the workers list
(``pubdata.workers``) beside the facts refresher and the match follower. Several processes may try at
once: the later one finds the run done (or, on SQLite, fails to write and leaves it to the winner)."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Engine, select

from pubdata.authz import SYSTEM
from pubdata.db import session_scope
from pubdata.enterprise import service as enterprise
from pubdata.finance import service
from pubdata.finance.models import FinanceScoreRun
from pubdata.finance.schemas import ScoreRunRead
from pubdata.periodic import Periodic

log = logging.getLogger(__name__)


def score_if_stale(engine: Engine, home: Path, model: str = service.DEFAULT_MODEL) -> ScoreRunRead | None:
    """Score (as the system) when the card's latest finished run used another facts version or
    another text of the card; the run made, or None (no facts yet, or nothing changed)."""
    with session_scope(engine) as session:
        facts = enterprise.current_version(session)
        if facts is None:
            return None
        card, version = service.resolve_card(session, model)
        done = session.scalar(
            select(FinanceScoreRun.id).where(
                FinanceScoreRun.model_version_id == version.id,
                FinanceScoreRun.facts_version == facts.number,
                FinanceScoreRun.state == "done",
            )
        )
        if done is not None:
            return None
        return service.run_scoring(session, SYSTEM, home=home, model=model, via="job")


class ScoreFollower(Periodic):
    """Runs ``score_if_stale`` every ``interval`` seconds (``interval`` 0 disables it)."""

    name = "pubdata-credit-score"

    def __init__(self, engine: Engine, home: Path, interval: float) -> None:
        super().__init__(interval, lease_engine=engine)
        self.engine = engine
        self.home = home

    def run_once(self) -> None:
        run = score_if_stale(self.engine, self.home)
        if run is not None:
            log.info("credit scores: run %s, %s enterprises", run.id, run.enterprises)
