"""Scoring follows the facts, as jobs of the platform's job system (``pubdata.jobs``).

- ``credit.score`` (key ``credit.score:model=<card>``): score every enterprise with a card (default the shipped
  expert card) as the system. ``run_scoring`` reuses the card's finished run of the same facts
  version and card text, so the job run twice scores once. Parameters: ``model``.
- ``ScoreFollower``: every ``interval`` seconds, in the one process holding its lease, queues
  ``credit.score`` when the card's latest finished run is not of the current facts version and card
  text, so a new facts version gets scores without anyone pressing a button.

``score_if_stale`` scores at once in the caller's process."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pubdata.authz import SYSTEM, Permission
from pubdata.db import session_scope
from pubdata.enterprise import service as enterprise
from pubdata.finance import service
from pubdata.finance.models import FinanceScoreRun
from pubdata.finance.schemas import ScoreRunRead
from pubdata.jobs import queue, registry
from pubdata.periodic import Periodic

log = logging.getLogger(__name__)
KIND = "credit.score"


def _stale(session: Session, model: str) -> bool:
    facts = enterprise.current_version(session)
    if facts is None:
        return False
    _card, version = service.resolve_card(session, model)
    done = session.scalar(
        select(FinanceScoreRun.id).where(
            FinanceScoreRun.model_version_id == version.id,
            FinanceScoreRun.facts_version == facts.number,
            FinanceScoreRun.state == "done",
        )
    )
    return done is None


def score_if_stale(engine: Engine, home: Path, model: str = service.DEFAULT_MODEL) -> ScoreRunRead | None:
    """Score (as the system) when the card's latest finished run used another facts version or
    another text of the card; the run made, or None (no facts yet, or nothing changed)."""
    with session_scope(engine) as session:
        if not _stale(session, model):
            return None
        return service.run_scoring(session, SYSTEM, home=home, model=model, via="job")


def _score(ctx: registry.Context) -> registry.Outcome:
    model = str(ctx.params.get("model") or service.DEFAULT_MODEL)
    ctx.progress("信用评分", 5, None)
    run = service.run_scoring(
        ctx.session, SYSTEM, home=ctx.home, model=model, via="job", progress=lambda m: ctx.progress(m[:32], 50, None)
    )
    return registry.Outcome(
        {"run": run.id, "model": model, "facts_version": run.facts_version, "reused": run.reused},
        rows=run.enterprises,
    )


registry.register(registry.Handler(kind=KIND, title="信用评分", run=_score, permission=Permission.FINANCE_SCORE_RUN))


class ScoreFollower(Periodic):
    """Queues ``credit.score`` every ``interval`` seconds when scores are stale (0 disables it)."""

    name = "pubdata-credit-score"

    def __init__(self, engine: Engine, home: Path, interval: float) -> None:
        super().__init__(interval, lease_engine=engine)
        self.engine = engine
        self.home = home

    def run_once(self) -> None:
        model = service.DEFAULT_MODEL
        with session_scope(self.engine) as session:
            if not _stale(session, model):
                return
        job_id, new = queue.enqueue_committed(
            self.engine, KIND, params={"model": model}, key=queue.key_for(KIND, {"model": model})
        )
        if new:
            log.info("credit scores are stale: job %s queued", job_id)
