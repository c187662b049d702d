"""Native REST API for access requests (有条件开放 data), their two-step review, and grants."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from pubdata.access import service as access
from pubdata.access.schemas import Decision, GrantRead, RequestCreate, RequestRead, RevokeIn
from pubdata.api.deps import DB, ActorDep
from pubdata.api.errors import ERROR_RESPONSES
from pubdata.api.params import DbId
from pubdata.store import contracts

router = APIRouter(tags=["access"], responses=ERROR_RESPONSES)


@router.post(
    "/resources/{resource_id}/access-requests",
    response_model=RequestRead,
    status_code=201,
    summary="Request a conditionally open table for a purpose",
)
def request_access(resource_id: str, body: RequestCreate, session: DB, actor: ActorDep) -> RequestRead:
    return contracts.request_access(session, actor, resource_id, body)


@router.get("/access/requests", response_model=list[RequestRead], summary="Access requests")
def list_requests(
    session: DB, actor: ActorDep, box: Literal["mine", "review", "publisher"] = "mine"
) -> list[RequestRead]:
    """``mine``: my organisation's requests; ``review``: waiting for my review (the publishing
    department's step, then the operator's); ``publisher``: every request for my organisation's data."""
    return access.list_requests(session, actor, box)


@router.get("/access/requests/{request_id}", response_model=RequestRead, summary="One request with its decisions")
def get_request(request_id: DbId, session: DB, actor: ActorDep) -> RequestRead:
    return access.get_request(session, actor, request_id)


@router.post(
    "/access/requests/{request_id}/decisions",
    response_model=RequestRead,
    summary="Approve (possibly narrowing) or reject at the current review step",
)
def decide(request_id: DbId, body: Decision, session: DB, actor: ActorDep) -> RequestRead:
    return contracts.review_access(session, actor, request_id, body)


@router.post("/access/requests/{request_id}/withdraw", response_model=RequestRead, summary="Withdraw a request")
def withdraw(request_id: DbId, session: DB, actor: ActorDep) -> RequestRead:
    access.withdraw_request(session, actor, request_id)
    return access.get_request(session, actor, request_id)


@router.get("/access/grants", response_model=list[GrantRead], summary="Grants held or issued, with today's usage")
def list_grants(session: DB, actor: ActorDep, resource_id: str | None = None) -> list[GrantRead]:
    return access.list_grants(session, actor, resource_id=resource_id)


@router.post("/access/grants/{grant_id}/revoke", response_model=GrantRead, summary="Revoke a grant now")
def revoke(grant_id: DbId, body: RevokeIn, session: DB, actor: ActorDep) -> GrantRead:
    grant = access.revoke_grant(session, actor, grant_id, body.reason)
    return access.grant_read(session, grant)
