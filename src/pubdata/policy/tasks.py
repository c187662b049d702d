"""Matching follows the facts, as jobs of the platform's job system (``pubdata.jobs``).

- ``policy.match`` (key ``policy.match:pack_id=<pack>`` or ``policy.match``): match one pack (``pack_id``) or every
  pack in force whose latest run is not of the current facts version and pack text, as the system.
  ``match_pack`` reuses a finished run of the same pack text and facts version, so the job run twice
  matches (and notifies) once.
- ``MatchFollower``: every ``PUBDATA_FACTS_REFRESH_SECONDS``, in the one process holding its lease,
  queues ``policy.match`` for every stale pack when any is stale, so a new facts version turns into
  notices for newly eligible enterprises without anyone pressing a button.

``match_if_stale`` matches at once in the caller's process."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pubdata.authz import SYSTEM, Permission
from pubdata.db import session_scope
from pubdata.enterprise import service as enterprise
from pubdata.jobs import queue, registry
from pubdata.periodic import Periodic
from pubdata.policy import service
from pubdata.policy.matching import match
from pubdata.policy.matching.schemas import MatchRunRead

log = logging.getLogger(__name__)
KIND = "policy.match"


def stale_packs(session: Session) -> list[str]:
    """The packs in force today (that notify) whose latest run used another facts version or
    another text of the pack; none before the first facts build."""
    facts = enterprise.current_version(session)
    if facts is None:
        return []
    found = []
    for pack in service.list_packs(SYSTEM, on=datetime.now(match.SHANGHAI).date()):
        if not pack.notifies:  # recognition packs (tiers): no notices
            continue
        latest = match.latest_run(session, pack.id)
        if latest is None or latest[0].facts_version != facts.number or latest[1].digest != pack.digest:
            found.append(pack.id)
    return found


def _match_stale(session: Session, home: Path, packs: list[str] | None = None) -> list[MatchRunRead]:
    runs = []
    for pack_id in stale_packs(session) if packs is None else packs:
        try:
            runs.append(match.match_pack(session, SYSTEM, pack_id, home=home))
        except match.PackNotMatchable as exc:  # until the facts are rebuilt; the others go on
            log.warning("%s", exc.message)
    return runs


def match_if_stale(engine: Engine, home: Path) -> list[MatchRunRead]:
    """Match (as the system) every stale pack in force today; the runs made."""
    with session_scope(engine) as session:
        return _match_stale(session, home)


def _match(ctx: registry.Context) -> registry.Outcome:
    pack_id = ctx.params.get("pack_id")
    packs = [str(pack_id)] if pack_id else stale_packs(ctx.session)
    runs: list[MatchRunRead] = []
    for n, pack in enumerate(packs):
        ctx.progress(f"匹配 {pack}", int(100 * n / max(1, len(packs))), None)
        if pack_id:  # one pack asked for by name: its errors are the job's
            runs.append(match.match_pack(ctx.session, SYSTEM, pack, home=ctx.home))
        else:
            runs.extend(_match_stale(ctx.session, ctx.home, [pack]))
    return registry.Outcome(
        {
            "runs": [
                {"pack_id": r.pack_id, "run": r.id, "newly_eligible": r.newly_eligible, "reused": r.reused}
                for r in runs
            ]
        },
        rows=sum(r.enterprises for r in runs),
    )


registry.register(registry.Handler(kind=KIND, title="政策匹配", run=_match, permission=Permission.POLICY_MATCH_RUN))


class MatchFollower(Periodic):
    """Queues ``policy.match`` of the stale packs every ``interval`` seconds (0 disables it)."""

    name = "pubdata-policy-match"

    def __init__(self, engine: Engine, home: Path, interval: float) -> None:
        super().__init__(interval, lease_engine=engine)
        self.engine = engine
        self.home = home

    def run_once(self) -> None:
        with session_scope(self.engine) as session:
            if not stale_packs(session):
                return
        job_id, new = queue.enqueue_committed(self.engine, KIND, key=queue.key_for(KIND))
        if new:
            log.info("policy matching is stale: job %s queued", job_id)
