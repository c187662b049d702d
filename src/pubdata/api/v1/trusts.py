"""Native REST API of data trusts (数据信托, docs/trusts.md): a settlor entrusts registered data assets
to a licensed trust company for beneficiaries whose shares sum to exactly one, for a term and a fee.
The settlor's organisation (``trust:manage``) creates and edits drafts; the operator
(``trust:review``) approves and terminates them. A trust is read by its settlor's, trustee's and
beneficiaries' organisations and the oversight roles; everyone else is told it does not exist.
Distributions are made by the market's settlement, not through this API; they are read here.
Writes need the token scope ``assets``."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from pubdata.api.deps import DB, ActorDep
from pubdata.api.errors import ERROR_RESPONSES
from pubdata.api.params import DbId
from pubdata.assets.trusts import service
from pubdata.assets.trusts.schemas import DistributionRead, TerminateIn, TrustIn, TrustRead

router = APIRouter(tags=["trusts"], responses=ERROR_RESPONSES)

# a trust's states (``assets.trusts.schemas.STATES``; tests/assets/trusts/test_trusts_api.py keeps them equal)
TrustState = Literal["draft", "active", "ended"]


@router.get("/trusts", response_model=list[TrustRead], summary="Data trusts the caller may read")
def list_trusts(
    session: DB,
    actor: ActorDep,
    state: TrustState | None = Query(default=None, description="Only trusts in this state"),
) -> list[TrustRead]:
    """The trusts of which the caller's organisation is settlor, trustee or a beneficiary; every
    trust for the operator and the oversight roles; none for an anonymous caller."""
    return service.list_trusts(session, actor, state=state)


@router.post("/trusts", response_model=TrustRead, status_code=201, summary="Set up a data trust (draft)")
def create_trust(body: TrustIn, session: DB, actor: ActorDep) -> TrustRead:
    """A draft of the settlor's organisation (or the operator's, for any settlor). Every problem is
    named at once in ``details``: 422 ``asset_trust.invalid_shares`` (shares not positive or not
    summing to exactly one, no or two remainder beneficiaries), ``asset_trust.invalid_trustee``,
    ``asset_trust.invalid_fee``, ``asset_trust.invalid_term``, ``asset_trust.asset_not_registered``,
    ``asset_trust.asset_not_held``, ``asset_trust.asset_already_entrusted``; 403
    ``asset_trust.not_settlor``; 409 ``asset_trust.code_taken``."""
    return service.create_trust(session, actor, body)


@router.get("/trusts/{trust_id}", response_model=TrustRead, summary="One data trust")
def get_trust(trust_id: DbId, session: DB, actor: ActorDep) -> TrustRead:
    """A trust with its beneficiaries (shares as reduced fractions) and entrusted registration codes;
    404 ``asset_trust.not_found`` for anyone who may not read it."""
    return service.get_trust(session, actor, trust_id)


@router.put("/trusts/{trust_id}", response_model=TrustRead, summary="Replace a draft (settlor)")
def update_trust(trust_id: DbId, body: TrustIn, session: DB, actor: ActorDep) -> TrustRead:
    """Only drafts are edited (409 ``asset_trust.wrong_state``), with the checks of creation; the code
    and the settlor never change; the version goes up."""
    return service.update_trust(session, actor, trust_id, body)


@router.post("/trusts/{trust_id}/approve", response_model=TrustRead, summary="Approve a draft (operator)")
def approve(trust_id: DbId, session: DB, actor: ActorDep) -> TrustRead:
    """draft → active: every check runs again (an asset may have been transferred or cancelled since)
    and the trust's clearing account is opened; 409 ``asset_trust.outside_term`` for a term already over."""
    return service.approve(session, actor, trust_id)


@router.post("/trusts/{trust_id}/terminate", response_model=TrustRead, summary="Terminate a trust (operator)")
def terminate(trust_id: DbId, body: TerminateIn, session: DB, actor: ActorDep) -> TrustRead:
    """A draft or active trust → ended, with a reason (409 ``asset_trust.wrong_state`` when already ended)."""
    return service.terminate(session, actor, trust_id, body.reason)


@router.get(
    "/trusts/{trust_id}/distributions", response_model=list[DistributionRead], summary="A trust's distributions"
)
def list_distributions(trust_id: DbId, session: DB, actor: ActorDep) -> list[DistributionRead]:
    """Each distribution in the order made: the gross, the trustee's fee and each beneficiary's part,
    in integer fen (for whoever may read the trust)."""
    return service.list_distributions(session, actor, trust_id)
