"""Native REST API for credit scoring (以数据变信用): the operator scores every enterprise with a
scorecard and lists runs and model versions; an enterprise reads its own score, grade and reasons.
Banks have no score route: they see a score only in the credit report (``/credit/{uscc}/report``),
read under the enterprise's live consent."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from pubdata.api.deps import DB, ActorDep, Home
from pubdata.api.errors import ERROR_RESPONSES
from pubdata.finance import report, service
from pubdata.finance.schemas import CreditScoreRead, FitRead, ModelVersionRead, OutcomeIn, ScoreRunRead
from pubdata.finance.scorecards import fit

router = APIRouter(tags=["credit"], responses=ERROR_RESPONSES)

SectionsQuery = Annotated[
    str | None,
    Query(
        max_length=200, pattern=r"^[a-z_,]*$",
        description="Comma-separated report sections (basic, score, tax, employment, utilities, innovation, "
        "compliance, trade); omitted: every section the caller may read",
    ),
]  # fmt: skip

ModelQuery = Annotated[
    str, Query(min_length=1, max_length=48, pattern=r"^[a-z][a-z0-9-]*$", description="Scorecard id (default expert)")
]


class ScoreRunIn(BaseModel):
    model: str = Field(
        default=service.DEFAULT_MODEL, min_length=1, max_length=48, pattern=r"^[a-z][a-z0-9-]*$",
        description="Scorecard id: expert (shipped) or a fitted model's id",
    )  # fmt: skip
    force: bool = Field(default=False, description="Score again even if neither the card nor the facts changed")


@router.post("/credit/score-runs", response_model=ScoreRunRead, summary="Score every enterprise (operator)")
def run_scoring(session: DB, actor: ActorDep, home: Home, body: ScoreRunIn | None = None) -> ScoreRunRead:
    """Scores every enterprise of the current facts table with the card in one pass and stores the
    results per (facts version, card version). ``reused`` is true when the same card text had already
    scored the same facts version."""
    body = body or ScoreRunIn()
    return service.run_scoring(session, actor, home=home, model=body.model, force=body.force, via="api")


@router.get("/credit/score-runs", response_model=list[ScoreRunRead], summary="Latest score runs (operator)")
def list_runs(session: DB, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[ScoreRunRead]:
    return service.list_runs(session, actor, limit=limit)


@router.get("/credit/models", response_model=list[ModelVersionRead], summary="Scorecard versions (operator)")
def list_models(session: DB, actor: ActorDep) -> list[ModelVersionRead]:
    """Every scorecard version, expert and fitted, with a fitted card's metrics and chart data."""
    return service.list_models(session, actor)


class FitIn(BaseModel):
    outcomes: list[OutcomeIn] = Field(
        default_factory=list, max_length=1_000_000, description="Loan outcomes: uscc, defaulted, observed, as_of"
    )
    include_loans: bool = Field(
        default=False, description="Add the closed loans of the 银企直通车 (every bank's), each as of its disbursement"
    )
    model_id: str = Field(
        default="fitted", min_length=1, max_length=48, pattern=r"^[a-z][a-z0-9-]*$",
        description="The fitted model's id; each fit is its next version",
    )  # fmt: skip
    supplied_by: str | None = Field(default=None, max_length=200, description="The bank that supplied the outcomes")
    score: bool = Field(default=True, description="Score every enterprise with the new card at once")


@router.post("/credit/models/fit", response_model=FitRead, summary="Fit a scorecard on loan outcomes (operator)")
def fit_model(body: FitIn, session: DB, actor: ActorDep, home: Home) -> FitRead:
    """Optimal binning + logistic regression on the outcomes; AUC, Gini, KS and IV per feature on a
    30 % hold-out; kept as a new version beside the expert card. Each outcome's features are read
    from the facts version of its ``as_of`` day where one exists (point in time); ``include_loans``
    adds the channel's closed loans. Outcomes naming enterprises the
    facts do not hold, or of one class only, are refused (422 ``finance.invalid_outcomes``) and
    nothing is stored."""
    rows = [o.model_dump() for o in body.outcomes]
    if body.include_loans:
        rows += fit.loan_rows(session, actor)
    return fit.fit_scorecard(
        session, actor, rows, home=home, model_id=body.model_id, supplied_by=body.supplied_by, score=body.score
    )


@router.get("/credit/{uscc}", response_model=CreditScoreRead, summary="One enterprise's credit score")
def credit_score(uscc: str, session: DB, actor: ActorDep, home: Home, model: ModelQuery = "expert") -> CreditScoreRead:
    """Score, grade, points per dimension and feature, and the top reasons raising and lowering the
    score, from the latest run. The enterprise's own users and the operator; everyone else gets 404
    (banks too: their way is a credit report under the enterprise's consent)."""
    return service.score_enterprise(session, actor, uscc, home=home, model=model)


@router.get("/credit/{uscc}/report", response_model=report.CreditReportRead, summary="An enterprise's credit report")
def credit_report(
    uscc: str, session: DB, actor: ActorDep, home: Home, sections: SectionsQuery = None
) -> report.CreditReportRead:
    """The credit report: per section its facts (title, value, unit, meaning), and for ``score`` the
    expert score, grade and reasons. A bank reads it only under the enterprise's live consent covering
    every section asked for (omitted: the sections its live consent covers) — otherwise 403
    ``finance.consent_required``, audited; every read is audited and shown to the enterprise among
    the consent's uses. The enterprise's own users read their full report; everyone else is refused."""
    wanted = [s for s in sections.split(",") if s] if sections else None
    return report.credit_report(session, actor, uscc, wanted, home=home)
