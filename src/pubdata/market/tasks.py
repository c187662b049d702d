"""The monthly settlement as a job of the platform's job system (``pubdata.jobs``).

- ``market.settle`` (key ``market.settle:month=<YYYY-MM>``): meter, bill and distribute one month as the system
  (``settlement.settle_month``). A month settled already is a no-op success (the run is unique per
  month), so the job run twice settles once.
- ``SettlementScheduler`` (when ``PUBDATA_SETTLEMENT_AUTO`` is on): every ``interval`` seconds, in
  the one process holding its lease, queues the previous month's settlement once that month is over
  and not settled yet."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from sqlalchemy import Engine, select

from pubdata.authz import SYSTEM, Permission
from pubdata.db import session_scope
from pubdata.jobs import queue, registry
from pubdata.market import settlement
from pubdata.market.errors import AlreadySettled
from pubdata.market.models import MarketSettlementRun
from pubdata.market.orders import today
from pubdata.periodic import Periodic

log = logging.getLogger(__name__)
KIND = "market.settle"


def previous_month(on: date | None = None) -> str:
    """The month before ``on`` (today in Beijing), as ``YYYY-MM``."""
    first = (on or today()).replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def _settle(ctx: registry.Context) -> registry.Outcome:
    month = str(ctx.params.get("month", ""))
    ctx.progress(f"结算 {month}", 5, None)
    try:
        run = settlement.settle_month(ctx.session, SYSTEM, month)
    except AlreadySettled:  # settled before (by hand, or by an earlier run of this job)
        return registry.Outcome({"month": month, "already_settled": True})
    return registry.Outcome(
        {"month": month, "run": run.id, "gross_fen": run.gross_fen, "usage_bills": run.usage_bills},
        rows=run.usage_bills,
    )


registry.register(registry.Handler(kind=KIND, title="月度结算", run=_settle, permission=Permission.MARKET_SETTLE))


def schedule_settlement(engine: Engine, on: date | None = None) -> str | None:
    """Queue the settlement of the month before ``on`` unless it is settled; the job's id (an
    already queued or running one's), or None."""
    month = previous_month(on)
    with session_scope(engine) as s:
        if s.scalar(select(MarketSettlementRun.id).where(MarketSettlementRun.month == month)) is not None:
            return None
    job_id, new = queue.enqueue_committed(
        engine, KIND, params={"month": month}, key=queue.key_for(KIND, {"month": month})
    )
    if new:
        log.info("settlement of %s queued: job %s", month, job_id)
    return job_id


class SettlementScheduler(Periodic):
    """Queues the previous month's settlement every ``interval`` seconds until it is done."""

    name = "pubdata-settlement"

    def __init__(self, engine: Engine, interval: float) -> None:
        super().__init__(interval, lease_engine=engine)
        self.engine = engine

    def run_once(self) -> None:
        schedule_settlement(self.engine)
