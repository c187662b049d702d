"""What bulk matching, notices and reach return (kept apart from ``schemas.py``, which describes
packs and single evaluations)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class MatchRunRead(BaseModel):
    """One bulk pass of a pack over the facts table."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    pack_id: str
    pack_version: int = Field(description="The pack's own version number")
    digest: str = Field(description="sha256 of the pack text the run used")
    facts_version: int
    state: str
    enterprises: int
    eligible: int = Field(description="Enterprise × clause pairs that are eligible")
    undecided: int = Field(description="Pairs that facts are missing to decide")
    newly_eligible: int = Field(description="Pairs newly eligible (or with a changed amount): one notice each")
    total_amount: int = Field(description="Sum of the known amounts of eligible pairs, in yuan (caps for 最高不超过)")
    seconds: float
    started_at: datetime
    finished_at: datetime | None
    reused: bool = Field(
        default=False, description="True when an earlier run of the same pack text and facts was returned"
    )


class NoticeRead(BaseModel):
    """A proactive notice (主动推送) in an enterprise's inbox."""

    id: int
    pack_id: str
    clause_id: str
    uscc: str
    amount: int | None
    amount_kind: str
    amount_text: str = Field(description="The amount as the inbox shows it (最高…万元, 金额待核定 …)")
    title: str
    body: str
    apply_url: str = Field(description="The one-click application for the clause, prefilled from the facts")
    created_at: datetime
    read_at: datetime | None
    application_id: int | None = Field(description="The application made from this notice, once there is one")


class NoticeCount(BaseModel):
    unread: int


class DistrictReach(BaseModel):
    district: str = Field(description="注册地; 未知 when the facts don't say")
    eligible: int
    undecided: int
    amount: int = Field(description="Sum of fixed and computed amounts of eligible enterprises, in yuan")
    up_to: int = Field(description="Sum of the caps (最高不超过) of eligible enterprises, in yuan")
    pending: int = Field(description="Eligible enterprises whose amount is to be assessed or not yet known")


class ClauseReach(DistrictReach):
    clause_id: str
    title: str
    article: str
    amount_kind: str
    cap: int | None
    by_district: list[DistrictReach]


class ReachRead(BaseModel):
    """How many enterprises each clause of a pack reaches and what it would pay, from the pack's
    latest match run (``run`` is None before the first)."""

    policy: str
    title: str
    run: MatchRunRead | None
    enterprises: int = Field(description="Enterprises in the facts table the run matched")
    eligible_enterprises: int = Field(description="Enterprises eligible for at least one clause")
    amount: int
    up_to: int
    clauses: list[ClauseReach]


class MatchRead(BaseModel):
    uscc: str
    name: str | None
    district: str | None
    clause_id: str
    clause_title: str
    eligible: bool | None
    amount: int | None
    amount_kind: str


class MatchPage(BaseModel):
    policy: str
    run_id: int | None
    total: int
    offset: int
    limit: int
    items: list[MatchRead]


class MyMatchRead(BaseModel):
    """A clause the viewer's enterprise matches (or may match, when facts are missing)."""

    pack_id: str
    pack_title: str
    clause_id: str
    clause_title: str
    article: str
    eligible: bool | None
    amount: int | None
    amount_kind: str
    amount_text: str
    materials: list[str]
    apply_url: str
    updated_at: datetime
