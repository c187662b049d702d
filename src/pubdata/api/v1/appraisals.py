"""Native REST API of data-asset appraisal reports (数据资产评估报告, docs/appraisal.md): an appraisal
agency's draft over a registered asset, the inputs of the cost, income and market methods with
their evidence (computed at once; an out-of-range input is refused naming every field), the
reconciliation, the 财会〔2023〕11号 classification, the signature that seals the report, and its
withdrawal. The service decides who may do what: the agency writes its own drafts; the agency, the
asset's holder (once signed) and oversight read; everyone else gets 404. Writes need the token
scope ``assets``. Comparables of the market method are the platform's settled transactions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from pubdata.api.deps import DB, ActorDep
from pubdata.api.errors import ERROR_RESPONSES
from pubdata.assets.valuation import service
from pubdata.assets.valuation.schemas import (
    AppraisalIn,
    AppraisalRead,
    AppraisalSummary,
    ClassifyIn,
    CostIn,
    IncomeIn,
    MarketIn,
    Method,
    QualityProposal,
    ReconcileIn,
    WithdrawIn,
)
from pubdata.market import transactions

router = APIRouter(prefix="/appraisals", tags=["appraisals"], responses=ERROR_RESPONSES)

Code = Annotated[str, Path(min_length=1, max_length=32, description="Report code (评估报告编号)")]
State = Annotated[str | None, Query(pattern="^(draft|signed|withdrawn)$", description="Report state")]


@router.get("", response_model=list[AppraisalSummary], summary="Appraisal reports")
def list_appraisals(
    session: DB,
    actor: ActorDep,
    state: State = None,
    registration_code: Annotated[str | None, Query(max_length=32, description="The appraised asset")] = None,
) -> list[AppraisalSummary]:
    """The reports the caller may read: its agency's (drafts included), those over assets its
    organisation holds (signed and withdrawn), every report for oversight. Newest first."""
    return service.list_appraisals(session, actor, state=state, registration_code=registration_code)


@router.post("", response_model=AppraisalRead, status_code=201, summary="Open a draft report (agency)")
def create_appraisal(body: AppraisalIn, session: DB, actor: ActorDep) -> AppraisalRead:
    """A draft of the caller's appraisal agency over a registered asset. 403 ``appraisal.not_agency``,
    422 ``appraisal.asset_not_appraisable`` / ``appraisal.invalid``."""
    return service.create_appraisal(session, actor, body)


@router.get("/{code}", response_model=AppraisalRead, summary="One appraisal report")
def get_appraisal(code: Code, session: DB, actor: ActorDep) -> AppraisalRead:
    """Every input with its evidence, each method's trace, the reconciliation, the classification
    and, once signed, whether the content still matches its seal (``content_intact``)."""
    return service.get_appraisal(session, actor, code)


@router.put("/{code}", response_model=AppraisalRead, summary="Replace a draft's header (agency)")
def update_appraisal(code: Code, body: AppraisalIn, session: DB, actor: ActorDep) -> AppraisalRead:
    """Title, purpose, valuation date, appraisers; the asset never changes. 409 ``appraisal.wrong_state``."""
    return service.update_appraisal(session, actor, code, body)


@router.put("/{code}/cost", response_model=AppraisalRead, summary="Cost method inputs (agency)")
def record_cost(code: Code, body: CostIn, session: DB, actor: ActorDep) -> AppraisalRead:
    """P = C × δ, computed at once. ``adjustment.kind = quality_report`` derives δ from the asset's
    measured quality report. 422 ``assets.invalid_appraisal`` names every field out of range."""
    return service.record_cost(session, actor, code, body)


@router.get("/{code}/quality", response_model=QualityProposal, summary="δ from the quality report (preview)")
def quality_proposal(code: Code, session: DB, actor: ActorDep) -> QualityProposal:
    """The asset's current quality report as the cost method's δ would use it (the agency's preview)."""
    return service.quality_proposal(session, actor, code)


@router.put("/{code}/income", response_model=AppraisalRead, summary="Income method inputs (agency)")
def record_income(code: Code, body: IncomeIn, session: DB, actor: ActorDep) -> AppraisalRead:
    """P = Σ Fₜ / (1 + i)ᵗ, computed at once. 422 ``assets.invalid_appraisal`` names every field."""
    return service.record_income(session, actor, code, body)


@router.put("/{code}/market", response_model=AppraisalRead, summary="Market method inputs (agency)")
def record_market(code: Code, body: MarketIn, session: DB, actor: ActorDep) -> AppraisalRead:
    """Pᵢ = Qᵢ × X1…X5 over the platform's settled transactions (by reference; the amount is Qᵢ).
    422 ``appraisal.unknown_transaction`` / ``assets.invalid_appraisal``."""
    return service.record_market(session, actor, code, body, transactions=transactions.get_transaction)


@router.delete("/{code}/methods/{method}", response_model=AppraisalRead, summary="Remove a method (agency)")
def clear_method(code: Code, method: Method, session: DB, actor: ActorDep) -> AppraisalRead:
    """Remove a method's input and result from a draft (the reconciliation is cleared)."""
    return service.clear_method(session, actor, code, method)


@router.put("/{code}/reconciliation", response_model=AppraisalRead, summary="Reconcile the methods (agency)")
def reconcile(code: Code, body: ReconcileIn, session: DB, actor: ActorDep) -> AppraisalRead:
    """A weight per computed method (summing to exactly one) or the one method adopted and why."""
    return service.reconcile(session, actor, code, body)


@router.put("/{code}/classification", response_model=AppraisalRead, summary="Accounting classification (agency)")
def classify(code: Code, body: ClassifyIn, session: DB, actor: ActorDep) -> AppraisalRead:
    """How the asset would be presented under 财会〔2023〕11号."""
    return service.classify(session, actor, code, body)


@router.post("/{code}/sign", response_model=AppraisalRead, summary="Sign and seal (agency)")
def sign(code: Code, session: DB, actor: ActorDep) -> AppraisalRead:
    """An appraiser named on the draft signs it; it never changes again. 409 ``appraisal.incomplete``."""
    return service.sign(session, actor, code)


@router.post("/{code}/withdraw", response_model=AppraisalRead, summary="Withdraw a signed report (agency)")
def withdraw(code: Code, body: WithdrawIn, session: DB, actor: ActorDep) -> AppraisalRead:
    """The agency withdraws a signed report with a reason; its sealed content stays."""
    return service.withdraw(session, actor, code, body.reason)
