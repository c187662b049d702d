"""Native REST API for enterprise facts (一企一档): the fact catalogue, one enterprise's facts,
building a new version of the facts table, the facts an enterprise supplies itself, and its tiers
(梯度培育) under every version of the tier rules."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from pubdata.access.service import beijing_today
from pubdata.api.deps import DB, ActorDep, Home
from pubdata.api.errors import ERROR_RESPONSES
from pubdata.authz import Actor
from pubdata.enterprise import service
from pubdata.enterprise.facts import FACTS
from pubdata.enterprise.schemas import (
    EnterpriseFacts,
    FactDefRead,
    FactsBuild,
    FactScalar,
    FactsVersionRead,
    FactValue,
    SuppliedFacts,
    SupplyResult,
)
from pubdata.errors import NotFound
from pubdata.policy import service as policy

router = APIRouter(tags=["enterprise"], responses=ERROR_RESPONSES)

TIER_FAMILY = "miit-tiers"


class BuildIn(BaseModel):
    year: int | None = Field(
        default=None, ge=1, le=9999, description="Facts year; default the latest full year of trade data"
    )
    force: bool = Field(default=False, description="Build even when no source table changed")


@router.get("/facts", response_model=list[FactDefRead], summary="The fact catalogue")
def fact_catalogue() -> list[FactDefRead]:
    """Every fact of the enterprise facts table: name, title, meaning, type, unit, source entry and
    the rule for an enterprise its source has no record of. Public."""
    return service.fact_catalogue()


@router.get("/facts/versions", response_model=list[FactsVersionRead], summary="Versions of the facts table")
def facts_versions(session: DB, actor: ActorDep) -> list[FactsVersionRead]:
    return service.list_versions(session, actor)


@router.post("/facts/build", response_model=FactsBuild, summary="Build the facts table (operator)")
def build_facts(session: DB, actor: ActorDep, home: Home, body: BuildIn | None = None) -> FactsBuild:
    """Builds in the request: a new version when a source table changed (or ``force``), otherwise
    the current version with ``built: false``."""
    body = body or BuildIn()
    return service.build_facts(session, actor, home=home, year=body.year, force=body.force, via="api")


@router.get("/enterprises/{uscc}/facts", response_model=EnterpriseFacts, summary="One enterprise's facts")
def enterprise_facts(uscc: str, session: DB, actor: ActorDep, home: Home) -> EnterpriseFacts:
    """The enterprise's facts in the current version, each with its title, unit and source entry;
    enterprise-supplied facts carry the enterprise's current value with who supplied it and when.
    An organisation's users see their own enterprise; the operator, departments and the regulator
    any; everyone else gets 404."""
    return service.get_facts(session, actor, uscc, home=home)


# --- supplied facts -------------------------------------------------------------------------------


class SupplyIn(BaseModel):
    facts: dict[Annotated[str, Field(min_length=1, max_length=80)], bool | int | float | str | None] = Field(
        min_length=1,
        max_length=200,
        description="Fact name → value, for facts whose source is enterprise_supplied: booleans true/false, "
        "money an integer of yuan, numbers with at most two decimals (percentages as 5.0 for 5%), strings one "
        "of the fact's values; null withdraws the current value",
    )
    note: str = Field(default="", max_length=2000, description="Evidence or explanation, kept with each value")


@router.get("/enterprises/{uscc}/supplied-facts", response_model=SuppliedFacts, summary="Facts the enterprise supplied")
def supplied_facts(uscc: str, session: DB, actor: ActorDep) -> SuppliedFacts:
    """The enterprise's current supplied values and their history (newest first), each with who
    supplied it and when. Its own users, and those who may read any enterprise's facts; 404 for
    everyone else."""
    return service.supplied_facts(session, actor, uscc)


@router.post(
    "/enterprises/{uscc}/supplied-facts", response_model=SupplyResult, summary="Supply the enterprise's own facts"
)
def supply_facts(uscc: str, body: SupplyIn, session: DB, actor: ActorDep) -> SupplyResult:
    """Only the enterprise's own users (scope ``policy``). Each value is checked against its fact's
    type; a bad supply is refused (422 ``enterprise.invalid_supplied_facts``, ``details`` naming
    every problem per fact) and nothing is written. The enterprise's own reads see the values at
    once; the facts table carries them from its next build."""
    return service.supply_facts(session, actor, uscc, body.facts, body.note)


# --- tiers ----------------------------------------------------------------------------------------

TierStatus = Literal["met", "not_met", "undecided"]
STATUS_LABELS: dict[str, str] = {"met": "符合", "not_met": "不符合", "undecided": "待补充"}


class MissingFact(BaseModel):
    """A fact a tier needs and the enterprise's facts lack: the enterprise can supply it
    (``supplied``), or public data does not hold it (``why`` says what that means)."""

    name: str
    title: str
    type: str
    unit: str
    meaning: str
    values: list[str] | None = None
    supplied: bool
    source: str  # the source's title
    why: str  # the catalogue's rule for an unknown value
    needed_by: list[str] = []  # "<pack id>:<clause id>" of the tiers undecided for want of it


class TierClause(BaseModel):
    id: str
    title: str
    article: str
    status: TierStatus
    status_label: str
    eligible: bool | None
    score: float | None = None
    score_min: float | None = None
    score_max: float | None = None
    score_detail: dict[str, Any] | None = None  # pass mark, group subtotals with floors, indicators
    trace: list[str]
    missing: list[str]
    missing_supplied: list[str]  # of ``missing``: facts the enterprise can supply
    missing_public: list[str]  # of ``missing``: public facts the data does not hold


class TierVersion(BaseModel):
    pack_id: str
    title: str
    version: int
    in_force: bool
    effective_from: date
    effective_to: date | None
    source: str
    clauses: list[TierClause]


class EnterpriseTiers(BaseModel):
    uscc: str
    name: str | None
    on: date  # the assessment date (Beijing): chooses the version in force
    in_force: str | None  # the pack id in force on ``on``
    facts_version: int
    versions: list[TierVersion]  # the version in force first
    missing: list[MissingFact]  # every fact an undecided tier lacks, enterprise-supplied first
    facts: dict[str, FactScalar]  # the values the tiers read
    supplied: list[FactValue]  # of those, the ones the enterprise supplied: value, who and when


def _status(eligible: bool | None) -> TierStatus:
    return "met" if eligible is True else "not_met" if eligible is False else "undecided"


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def enterprise_tiers(
    session: Session, actor: Actor, uscc: str, *, home: Path, on: date | None = None
) -> EnterpriseTiers:
    """The enterprise's tiers under every version of the tier rules (``miit-tiers``; the one in
    force on ``on`` first), from its facts with its current supplied values (``get_facts``: its own
    users and those who may read any enterprise's, audited); each clause met / not met / undecided,
    with its score interval and the missing facts split into what the enterprise can supply and
    what public data does not hold."""
    day = on or beijing_today()
    facts = service.get_facts(session, actor, uscc, home=home)
    packs = [p for p in policy.list_packs(actor) if p.family == TIER_FAMILY]
    try:
        current: str | None = policy.pack_in_force(actor, TIER_FAMILY, day).id
    except NotFound:
        current = None
    packs.sort(key=lambda p: (p.id != current, -p.spec.effective.from_.toordinal()))
    versions: list[TierVersion] = []
    missing: dict[str, MissingFact] = {}
    read: dict[str, FactScalar] = {}
    for pack in packs:
        values = {k: facts.values.get(k) for k in pack.inputs}
        read.update(values)
        result = policy.evaluate_facts(actor, pack.id, values)
        clauses = []
        for c in result["clauses"]:
            status = _status(c["eligible"])
            lacking = list(c["missing"]) if status == "undecided" else []
            for name in lacking:
                if name not in missing:
                    f = FACTS.get(name)
                    spec = pack.inputs[name]
                    missing[name] = MissingFact(
                        name=name, title=f.title if f else spec.title, type=f.type if f else spec.type,
                        unit=f.unit if f else (spec.unit or ""), meaning=f.meaning if f else (spec.description or ""),
                        values=list(f.values) if f and f.values else spec.values, supplied=bool(f and f.supplied),
                        source=f.source_title if f else "本平台的企业档案没有这项数据",
                        why=f.missing if f else "企业档案中没有这个事实",
                    )  # fmt: skip
                missing[name].needed_by.append(f"{pack.id}:{c['id']}")
            clauses.append(
                TierClause(
                    id=c["id"], title=c["title"], article=c["article"], status=status,
                    status_label=STATUS_LABELS[status], eligible=c["eligible"], score=_number(c.get("score")),
                    score_min=_number(c.get("score_min")), score_max=_number(c.get("score_max")),
                    score_detail=c.get("score_detail"), trace=c["trace"], missing=list(c["missing"]),
                    missing_supplied=[n for n in lacking if missing[n].supplied],
                    missing_public=[n for n in lacking if not missing[n].supplied],
                )
            )  # fmt: skip
        effective = pack.spec.effective
        versions.append(
            TierVersion(
                pack_id=pack.id, title=pack.spec.title, version=pack.spec.version, in_force=pack.id == current,
                effective_from=effective.from_, effective_to=effective.to, source=pack.spec.source.document,
                clauses=clauses,
            )
        )  # fmt: skip
    ordered = sorted(missing.values(), key=lambda m: not m.supplied)
    return EnterpriseTiers(
        uscc=facts.uscc, name=facts.name, on=day, in_force=current, facts_version=facts.version.number,
        versions=versions, missing=ordered, facts=read,
        supplied=[f for f in facts.facts if f.name in read and f.supplied_at is not None],
    )  # fmt: skip


@router.get("/enterprises/{uscc}/tiers", response_model=EnterpriseTiers, summary="One enterprise's tiers (梯度培育)")
def tiers(
    uscc: str,
    session: DB,
    actor: ActorDep,
    home: Home,
    on: Annotated[date | None, Query(description="Assessment date (default today, Beijing)")] = None,
) -> EnterpriseTiers:
    """The enterprise's tiers under both versions of the MIIT tier rules (the 2022 and the 2026
    measures; the one in force on ``on`` first): each clause met / not met / undecided with its
    score and bounds where the rules score, the Chinese trace, and the missing facts — those the
    enterprise can supply (``POST …/supplied-facts``) and the public ones the data lacks. Its own
    users, and those who may read any enterprise's facts; 404 for everyone else."""
    return enterprise_tiers(session, actor, uscc, home=home, on=on)
