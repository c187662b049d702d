"""What the policy domain returns: packs with their clauses and sources, and evaluations."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from pubdata.policy.packs.engine import clause_cap, static_kind
from pubdata.policy.packs.pack import Pack


class InputRead(BaseModel):
    name: str
    type: str
    title: str
    unit: str | None


class ClauseRead(BaseModel):
    id: str
    title: str
    article: str
    text: str = Field(description="The clause as the policy words it (quoted)")
    when: str = Field(description="The applicability condition, in the rules language")
    amount_kind: str
    cap: int | None = Field(description="The most the clause pays, in yuan (None: no figure in the text)")
    materials: list[str]


class PolicySummary(BaseModel):
    id: str
    version: int
    title: str
    summary: str | None
    issued_by: list[str]
    published: date
    effective_from: date
    effective_to: date | None
    clauses: int


class PolicyRead(PolicySummary):
    document: str
    reference: str | None
    applies_when: str | None
    reviewer: dict[str, str]
    inputs: list[InputRead]
    clause_list: list[ClauseRead]


class EvaluateIn(BaseModel):
    facts: dict[str, Any] | None = Field(default=None, description="Facts by name (the calculator)")
    enterprise: str | None = Field(default=None, description="An enterprise's credit code: its facts-table row")


class ClauseResultRead(BaseModel):
    id: str
    title: str
    article: str
    eligible: bool | None
    amount: int | None = Field(description="Integer yuan; None when not eligible, not yet known, or assessed")
    amount_kind: str
    cap: int | None
    trace: list[str]
    missing: list[str]
    score: float | None = Field(
        default=None, description="Scored clauses: the total, when every indicator is known (None otherwise)"
    )
    score_min: float | None = Field(
        default=None, description="Scored clauses: the lowest total the unknown indicators allow (= score when known)"
    )
    score_max: float | None = Field(
        default=None, description="Scored clauses: the highest total the unknown indicators allow (= score when known)"
    )
    score_detail: dict[str, Any] | None = Field(
        default=None, description="Scored clauses: pass mark, groups (bounds, floor) and every indicator's points"
    )


class EvaluationRead(BaseModel):
    policy: str
    version: int
    title: str
    clauses: list[ClauseResultRead]
    total: int = Field(description="The sum of the known amounts of eligible clauses, in yuan")
    enterprise: dict[str, Any] | None = None
    facts: dict[str, Any] | None = None


def policy_summary(pack: Pack) -> PolicySummary:
    s = pack.spec
    return PolicySummary(
        id=s.id, version=s.version, title=s.title, summary=s.summary, issued_by=s.source.issued_by,
        published=s.source.published, effective_from=s.effective.from_, effective_to=s.effective.to,
        clauses=len(pack.clauses),
    )  # fmt: skip


def policy_read(pack: Pack) -> PolicyRead:
    s = pack.spec
    return PolicyRead(
        **policy_summary(pack).model_dump(),
        document=s.source.document,
        reference=s.source.reference,
        applies_when=s.applies_when,
        reviewer={"department": s.reviewer.department, "of": s.reviewer.of, "office": pack.reviewing_office},
        inputs=[InputRead(name=n, type=i.type, title=i.title, unit=i.unit) for n, i in s.inputs.items()],
        clause_list=[
            ClauseRead(
                id=c.id, title=c.title, article=c.article, text=c.text, when=c.when_text,
                amount_kind=static_kind(c.amount), cap=clause_cap(c.amount), materials=list(c.materials),
            )
            for c in pack.clauses
        ],
    )  # fmt: skip
