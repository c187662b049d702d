"""Native REST API for organisations, the caller, API tokens and OAuth2 clients."""

from __future__ import annotations

from fastapi import APIRouter, Query

from pubdata.api.deps import DB, ActorDep
from pubdata.api.errors import ERROR_RESPONSES
from pubdata.api.params import DbId
from pubdata.identity import machines, service
from pubdata.identity.schemas import (
    ClientCreate,
    ClientCreated,
    ClientRead,
    OrganisationKind,
    OrganisationRead,
    TokenCreate,
    TokenCreated,
    TokenRead,
    UserRead,
)

router = APIRouter(tags=["identity"], responses=ERROR_RESPONSES)


@router.get("/organisations", response_model=list[OrganisationRead], summary="Organisations")
def list_organisations(
    session: DB, actor: ActorDep, kind: OrganisationKind | None = Query(None)
) -> list[OrganisationRead]:
    orgs = service.list_organisations(session, actor, kind.value if kind else None)
    return [OrganisationRead.model_validate(o) for o in orgs]


@router.get("/organisations/{code}", response_model=OrganisationRead, summary="One organisation")
def get_organisation(code: str, session: DB, actor: ActorDep) -> OrganisationRead:
    return OrganisationRead.model_validate(service.get_organisation(session, actor, code))


@router.get("/me", response_model=UserRead, summary="The calling user")
def me(session: DB, actor: ActorDep) -> UserRead:
    return UserRead.model_validate(service.current_user(session, actor))


@router.get("/tokens", response_model=list[TokenRead], summary="The caller's API tokens")
def list_tokens(session: DB, actor: ActorDep) -> list[TokenRead]:
    return [TokenRead.model_validate(t) for t in service.list_tokens(session, actor)]


@router.post("/tokens", response_model=TokenCreated, status_code=201, summary="Issue an API token (shown once)")
def create_token(body: TokenCreate, session: DB, actor: ActorDep) -> TokenCreated:
    token, secret = service.create_token(session, actor, name=body.name, scopes=body.scopes, days=body.days)
    return TokenCreated(**TokenRead.model_validate(token).model_dump(), token=secret)


@router.delete("/tokens/{token_id}", response_model=TokenRead, summary="Revoke an API token")
def revoke_token(token_id: DbId, session: DB, actor: ActorDep) -> TokenRead:
    return TokenRead.model_validate(service.revoke_token(session, actor, token_id))


@router.get("/oauth-clients", response_model=list[ClientRead], summary="The caller's OAuth2 clients")
def list_clients(session: DB, actor: ActorDep) -> list[ClientRead]:
    return [ClientRead.model_validate(c) for c in machines.list_clients(session, actor)]


@router.post(
    "/oauth-clients",
    response_model=ClientCreated,
    status_code=201,
    summary="Register an OAuth2 client (client credentials grant; the secret is shown once)",
)
def create_client(body: ClientCreate, session: DB, actor: ActorDep) -> ClientCreated:
    client, secret = machines.create_client(
        session,
        actor,
        name=body.name,
        scopes=body.scopes,
        rate_per_minute=body.rate_per_minute,
        token_minutes=body.token_minutes,
    )
    return ClientCreated(**ClientRead.model_validate(client).model_dump(), client_secret=secret)


@router.delete("/oauth-clients/{client_id}", response_model=ClientRead, summary="Revoke a client and its tokens")
def revoke_client(client_id: str, session: DB, actor: ActorDep) -> ClientRead:
    return ClientRead.model_validate(machines.revoke_client(session, actor, client_id))
