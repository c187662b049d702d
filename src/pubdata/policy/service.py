"""Policies (政策通): the packs the platform knows, their text, and evaluation with explanations —
from facts a caller supplies (the public calculator) or from an enterprise's row in the facts table
(一企一档, read with the enterprise domain's rights and audit).

Packs are the YAML files shipped in ``policy/packs`` (plus any file a CLI user points at). The pack
text in force is recorded in ``policy_pack_version`` the first time it is used for something that
persists (matching, an application), so results always name the exact text that produced them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.authz import Actor, Permission, require
from pubdata.enterprise import service as enterprise
from pubdata.enterprise.facts import FACTS
from pubdata.errors import Conflict
from pubdata.policy.models import PolicyPackVersion
from pubdata.policy.packs.engine import check_facts, evaluate_pack
from pubdata.policy.packs.pack import PACKS_DIR, RULE_TYPES, InvalidPack, Pack, PackNotFound, load_pack, shipped_packs


def check_inputs_against_facts(pack: Pack) -> list[str]:
    """Problems with the pack's inputs as facts of the platform: a name the facts table doesn't have
    or a different type (the pack can still be evaluated from supplied facts, but not matched)."""
    problems = []
    for name, spec in pack.inputs.items():
        known = FACTS.get(name)
        if known is None:
            problems.append(f"inputs.{name}：企业档案中没有这个事实")
        elif known.type != spec.type and RULE_TYPES.get(known.type) != RULE_TYPES[spec.type]:
            problems.append(f"inputs.{name}：类型为 {spec.type}，企业档案中为 {known.type}")
    return problems


@lru_cache(maxsize=32)
def _cached(ref: str, mtime_ns: int) -> Pack:
    return load_pack(ref)


def get_pack(actor: Actor, pack_id: str) -> Pack:
    """A shipped pack by id, compiled (cached until its file changes). Only shipped packs: an id is
    never taken as a path."""
    require(actor, Permission.POLICY_PACK_READ)
    if pack_id not in shipped_packs():
        raise PackNotFound(f"没有这个政策：{pack_id}")
    return _cached(pack_id, (PACKS_DIR / f"{pack_id}.yaml").stat().st_mtime_ns)


def list_packs(actor: Actor, *, on: date | None = None) -> list[Pack]:
    """Every shipped pack (those in force on ``on`` when given)."""
    require(actor, Permission.POLICY_PACK_READ)
    packs = [get_pack(actor, p) for p in shipped_packs()]
    return [p for p in packs if on is None or p.active_on(on)]


def pack_in_force(actor: Actor, family: str, on: date) -> Pack:
    """The shipped pack of ``family`` (e.g. ``miit-tiers``; a pack's own id names a family of one)
    whose ``effective`` period contains ``on``: the rules in force on that date. A certificate issued
    under an earlier version stays valid to its expiry — that is the certificate's date, not this
    choice, which only says which rules an assessment on ``on`` applies."""
    require(actor, Permission.POLICY_PACK_READ)
    members = [p for p in list_packs(actor) if family in (p.family, p.id)]
    if not members:
        raise PackNotFound(f"没有这个政策或政策系列：{family}")
    in_force = [p for p in members if p.active_on(on)]
    if not in_force:
        periods = "；".join(f"{p.id}：{p.spec.effective.from_} 至 {p.spec.effective.to or '今'}" for p in members)
        raise PackNotFound(f"{family} 在 {on} 没有生效的版本（{periods}）", code="policy.pack_not_in_force")
    if len(in_force) > 1:
        raise Conflict(
            f"{family} 在 {on} 有多个生效版本：{'、'.join(p.id for p in in_force)}", code="policy.pack_versions_overlap"
        )
    return in_force[0]


def register_version(session: Session, pack: Pack) -> PolicyPackVersion:
    """The row recording this exact pack text (created the first time it is used)."""
    row = session.scalar(
        select(PolicyPackVersion).where(PolicyPackVersion.pack_id == pack.id, PolicyPackVersion.digest == pack.digest)
    )
    if row is None:
        text = pack.path.read_text(encoding="utf-8") if pack.path else ""
        row = PolicyPackVersion(
            pack_id=pack.id, version=pack.spec.version, digest=pack.digest, title=pack.spec.title, text=text
        )
        session.add(row)
        session.flush()
    return row


def evaluate_facts(actor: Actor, pack_id: str, facts: Mapping[str, Any]) -> dict[str, Any]:
    """The pack's result for facts the caller supplies (the calculator): every clause's eligibility,
    amount, explanation and missing facts. Facts are checked against the pack's declared types."""
    pack = get_pack(actor, pack_id)
    return evaluate_pack(pack, check_facts(pack, facts))


TIER_FAMILY = "miit-tiers"


def tiers_in_force(actor: Actor, facts: Mapping[str, Any], on: date) -> dict[str, bool | None]:
    """The tier results (梯度培育) of an enterprise's facts under the tier rules in force on ``on``:
    clause id → eligible (None: undecided for want of facts). The caller read the facts."""
    pack = pack_in_force(actor, TIER_FAMILY, on)
    result = evaluate_pack(pack, check_facts(pack, {k: facts.get(k) for k in pack.inputs}, strict=False))
    return {c["id"]: c["eligible"] for c in result["clauses"]}


def evaluate_enterprise(session: Session, actor: Actor, pack_id: str, uscc: str, *, home: Path) -> dict[str, Any]:
    """The pack's result for an enterprise's facts-table row: its own users, and those who may read
    any enterprise's facts (the read is audited by the enterprise domain)."""
    pack = get_pack(actor, pack_id)
    row = enterprise.get_facts(session, actor, uscc, home=home)
    facts = check_facts(pack, {k: row.values.get(k) for k in pack.inputs}, strict=False)
    result = evaluate_pack(pack, facts)
    result["enterprise"] = {"uscc": row.uscc, "name": row.name, "facts_version": row.version.number}
    result["facts"] = {k: row.values.get(k) for k in pack.inputs}
    return result


def check_pack(ref: str | Path) -> tuple[Pack, list[str]]:
    """A pack file compiled (errors raise ``InvalidPack``), with warnings about facts the platform's
    facts table doesn't provide."""
    pack = load_pack(ref)
    return pack, check_inputs_against_facts(pack)


__all__ = [
    "InvalidPack",
    "check_pack",
    "evaluate_enterprise",
    "evaluate_facts",
    "get_pack",
    "list_packs",
    "pack_in_force",
]
