"""Native REST API for consents (授权): an enterprise authorises a bank of the finance zone to read
sections of its credit report, revokes it, and sees every read made under it."""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from pubdata.api.deps import DB, ActorDep
from pubdata.api.errors import ERROR_RESPONSES
from pubdata.api.params import DbId
from pubdata.finance.consent import service
from pubdata.finance.consent.schemas import PURPOSES, SECTIONS, ConsentCreate, ConsentRead, ConsentUse

router = APIRouter(tags=["finance"], responses=ERROR_RESPONSES)


class RevokeIn(BaseModel):
    reason: str = Field(default="", max_length=500)


class OptionRead(BaseModel):
    code: str
    label: str


class ConsentOptions(BaseModel):
    sections: list[OptionRead]
    purposes: list[OptionRead]


@router.get("/consents/options", response_model=ConsentOptions, summary="Report sections and purposes")
def consent_options() -> ConsentOptions:
    """The sections of the credit report a consent may name, and the purposes a bank may read for."""
    return ConsentOptions(
        sections=[OptionRead(code=s.code, label=s.label) for s in SECTIONS.values()],
        purposes=[OptionRead(code=c, label=label) for c, label in PURPOSES.items()],
    )


@router.post("/consents", response_model=ConsentRead, status_code=201, summary="Authorise a bank (enterprise)")
def grant_consent(body: ConsentCreate, session: DB, actor: ActorDep) -> ConsentRead:
    """The caller's enterprise authorises the bank (an organisation admitted to the finance zone) to
    read the named sections of its credit report, for the purpose, until ``expires_on`` (at most a
    year ahead). Every problem is named in `details`."""
    return service.grant_consent(session, actor, body)


@router.get("/consents", response_model=list[ConsentRead], summary="Consents given or received")
def list_consents(
    session: DB, actor: ActorDep, uscc: str | None = Query(default=None, max_length=18)
) -> list[ConsentRead]:
    """An enterprise's consents, those naming a bank, or (operator, regulator) every consent."""
    return service.list_consents(session, actor, uscc=uscc)


@router.get("/consents/{consent_id}", response_model=ConsentRead, summary="One consent")
def get_consent(consent_id: DbId, session: DB, actor: ActorDep) -> ConsentRead:
    return service.get_consent(session, actor, consent_id)


@router.post("/consents/{consent_id}/revoke", response_model=ConsentRead, summary="Revoke a consent at once")
def revoke_consent(consent_id: DbId, session: DB, actor: ActorDep, body: RevokeIn | None = None) -> ConsentRead:
    return service.revoke_consent(session, actor, consent_id, (body or RevokeIn()).reason)


@router.get("/consents/{consent_id}/uses", response_model=list[ConsentUse], summary="Reads under a consent")
def consent_uses(consent_id: DbId, session: DB, actor: ActorDep) -> list[ConsentUse]:
    """Every read of the report under the consent, and its bank's refused attempts, from the audit trail."""
    return service.consent_uses(session, actor, consent_id)
