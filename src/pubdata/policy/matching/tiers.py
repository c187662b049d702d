"""Tiers (梯度培育) of every enterprise: each recognition pack (``miit-tiers-2022``, ``miit-tiers-2026``)
evaluated over the whole facts table in one SQL pass (``match.run_pass``: the statement the packs'
cases check against the Python evaluator), one Parquet file per facts version and pack under
``$PUBDATA_HOME/policy/tiers/facts-v<F>/<pack>.parquet`` (enterprise, clause, eligible, score,
score_min, score_max). Recognition packs push no notices: this only computes and keeps the results,
so that every enterprise has its tiers under both rule versions. Facts versions are immutable, so a
file, once written, is the answer for that version (it is rewritten only when a pack changes)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from pubdata import batch, duck
from pubdata import files as core_files
from pubdata.audit import service as audit
from pubdata.authz import Actor, Permission, require
from pubdata.enterprise import service as enterprise
from pubdata.policy import service
from pubdata.policy.matching.match import run_pass


@dataclass(frozen=True)
class TierPass:
    pack_id: str
    facts_version: int
    enterprises: int
    eligible: int  # enterprise × clause pairs met
    undecided: int  # pairs undecided for want of facts
    path: Path


def tiers_file(home: Path, facts_version: int, pack_id: str) -> Path:
    return home / "policy" / "tiers" / f"facts-v{facts_version}" / f"{pack_id}.parquet"


def build_tiers(session: Session, actor: Actor, *, home: Path, engine: str | None = None) -> list[TierPass]:
    """Evaluate every recognition pack over every enterprise of the current facts version (the
    operator's or the system's right, as bulk matching) on the batch ``engine`` (default
    ``PUBDATA_BATCH_ENGINE``). Audited as one ``policy.match`` per pack."""
    require(actor, Permission.POLICY_MATCH_RUN)
    engine = batch.engine_name(engine)
    facts = enterprise.read_facts(session, actor, home=home)
    packs = [p for p in service.list_packs(actor) if not p.notifies]
    out = []
    root = home / "policy" / "tiers"
    for pack in packs:
        with core_files.staging_dir(root) as work:
            con = duck.batch_connection(work / "spill")
            try:
                staged = work / "tiers.parquet"
                summary = run_pass(con, pack, facts.path, staged, engine=engine)
            finally:
                con.close()
            target = tiers_file(home, facts.version, pack.id)
            core_files.publish_file(staged, target)
        out.append(TierPass(pack.id, facts.version, summary.enterprises, summary.eligible, summary.undecided, target))
        audit.record_later(
            session, actor,
            audit.Event("policy.match", version=facts.version, rows=summary.enterprises,
                        details={"pack": pack.id, "tiers": True, "eligible": summary.eligible,
                                 "undecided": summary.undecided, "engine": engine}),
        )  # fmt: skip
    return out
