"""Native REST API of the data-asset registry (确权登记, docs/registry.md): applications (initial,
change, correction) and chain applications (transfer, licence, cancellation), resubmission after a
return, the registrar's acceptance, formal review, objections and registration, the public
verification of a registration code and the certificate as a PDF.

The service decides who sees and may do what: registrations in public notice and after are public,
an application in any other state is seen only by its holder, counterparty, applicant and the
registrar (404 for everyone else). Every write through a token needs the scope ``assets`` (checked
here for the writes whose right is not an ``assets`` permission: an objection is open to every
signed-in user, and a department applies on its catalogue right); a portal session is not narrowed."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from pubdata.api.deps import DB, ActorDep, Home
from pubdata.api.errors import ERROR_RESPONSES
from pubdata.api.params import DbId
from pubdata.assets.registry import service
from pubdata.assets.registry.certificate_pdf import render_certificate
from pubdata.assets.registry.schemas import (
    ChainIn,
    FormalReviewIn,
    ObjectionRead,
    ProductFacts,
    RegistrationIn,
    RegistrationRead,
    ResolveIn,
    Verification,
)
from pubdata.authz import Actor
from pubdata.errors import Forbidden
from pubdata.market import service as market

router = APIRouter(tags=["registry"], responses=ERROR_RESPONSES)

# the registration's states (``registry.schemas.STATES``; tests keep them equal)
RegistrationState = Literal[
    "submitted", "accepted", "returned", "rejected", "public_notice", "refused", "registered", "superseded",
    "cancelled",
]  # fmt: skip
RegistrationCode = Annotated[
    str, Path(min_length=1, max_length=32, description="登记编号, e.g. QD-DR-2026-000001 (any letter case)")
]
WRITE_SCOPES = frozenset({"assets", "admin"})


def product_facts(session: Session, actor: Actor, product_id: int) -> ProductFacts:
    """The registry's ``ProductLookup``: a market product the actor may see (NotFound otherwise)."""
    p = market.get_product(session, actor, product_id)
    return ProductFacts(id=p.id, code=p.code, title=p.title, provider_org_id=p.provider_org_id,
                        resource_id=p.resource_id)  # fmt: skip


def verification_url(request: Request, code: str) -> str:
    """The public page that verifies a certificate: the platform's base URL and the registry's path."""
    return request.app.state.settings.resolved_base_url + service.VERIFY_PATH.format(code=code)


def _writer(actor: ActorDep) -> Actor:
    """A token writes to the registry only with the scope ``assets``."""
    if actor.scopes is not None and not (actor.scopes & WRITE_SCOPES):
        raise Forbidden("没有权限：令牌缺少权限范围 assets（数据资产登记）", code="auth.permission_denied")
    return actor


Writer = Annotated[Actor, Depends(_writer)]


class AcceptIn(BaseModel):
    """受理 (``accept: true``) or 不予受理 (``accept: false``, final, with a reason)."""

    model_config = ConfigDict(extra="forbid")

    accept: bool = True
    reason: str = Field(default="", max_length=2000)


class ObjectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000, description="异议的事实和理由")


@router.get("/registry/registrations", response_model=list[RegistrationRead], summary="Registrations")
def list_registrations(
    session: DB,
    actor: ActorDep,
    state: RegistrationState | None = Query(default=None, description="Registration state"),
    mine: bool = Query(default=False, description="Only the caller's organisation's (holder or counterparty)"),
) -> list[RegistrationRead]:
    """Registrations in public notice, registered, superseded or cancelled for everyone, anonymous
    included (without their events and objections); the caller's organisation's own in any state;
    every one for the registrar."""
    return service.list_registrations(session, actor, state=state, mine=mine)


@router.post(
    "/registry/registrations", response_model=RegistrationRead, status_code=201, summary="Apply for a registration"
)
def apply(body: RegistrationIn, session: DB, actor: Writer, home: Home) -> RegistrationRead:
    """An application of kind initial, change or correction by the caller's organisation (the holder).
    The registrar recomputes the fingerprint of the table version. 422 ``registry.core_data``
    (核心数据), ``registry.fingerprint_mismatch``, ``registry.invalid``; 403 ``registry.not_holder``,
    ``registry.may_not_apply``; 409 ``registry.already_registered``, ``registry.wrong_state``."""
    return service.apply(session, actor, body, products=product_facts, home=home)


@router.post(
    "/registry/chain-applications", response_model=RegistrationRead, status_code=201,
    summary="Apply for a transfer, licence or cancellation",
)  # fmt: skip
def apply_chain(body: ChainIn, session: DB, actor: Writer) -> RegistrationRead:
    """A transfer (转移), licence (许可) or cancellation (注销) of the registered ``previous_id`` by its
    holder; it goes through the same review, notice and registration."""
    return service.apply_chain(session, actor, body)


@router.get("/registry/registrations/{registration_id}", response_model=RegistrationRead, summary="One registration")
def get_registration(registration_id: DbId, session: DB, actor: ActorDep) -> RegistrationRead:
    """A public registration (in notice or after) for everyone; any state, with its events and
    objections, for the holder, the counterparty, the applicant and the registrar; 404
    ``registry.not_found`` for everyone else."""
    return service.get_registration(session, actor, registration_id)


@router.post(
    "/registry/registrations/{registration_id}/resubmit", response_model=RegistrationRead,
    summary="Resubmit an application returned for correction",
)  # fmt: skip
def resubmit(
    registration_id: DbId, session: DB, actor: Writer, home: Home, body: RegistrationIn | None = None
) -> RegistrationRead:
    """The applicant's organisation resubmits (with corrected input, checked as a new application is,
    or as it was); it goes back to formal review. 409 ``registry.wrong_state`` unless returned."""
    return service.resubmit(session, actor, registration_id, body, products=product_facts, home=home)


@router.post(
    "/registry/registrations/{registration_id}/accept", response_model=RegistrationRead, summary="受理 (registrar)"
)
def accept(registration_id: DbId, body: AcceptIn, session: DB, actor: Writer) -> RegistrationRead:
    """The registrar accepts a submitted application, or rejects it (final) with a reason. Nobody
    reviews an application they filed (403 ``registry.own_application``)."""
    return service.accept(session, actor, registration_id, accept=body.accept, reason=body.reason)


@router.post(
    "/registry/registrations/{registration_id}/formal-review", response_model=RegistrationRead,
    summary="形式审核 (registrar)",
)  # fmt: skip
def formal_review(registration_id: DbId, body: FormalReviewIn, session: DB, actor: Writer) -> RegistrationRead:
    """pass → public notice until today + ``notice_days`` (1–90, default 10); return → returned for
    correction, with a reason."""
    return service.formal_review(session, actor, registration_id, body)


@router.post(
    "/registry/registrations/{registration_id}/objections", response_model=ObjectionRead, status_code=201,
    summary="File an objection (异议)",
)  # fmt: skip
def file_objection(registration_id: DbId, body: ObjectionIn, session: DB, actor: Writer) -> ObjectionRead:
    """Any signed-in user, during the public notice (409 ``registry.wrong_state`` otherwise)."""
    return service.file_objection(session, actor, registration_id, body.text)


@router.post(
    "/registry/objections/{objection_id}/resolve", response_model=ObjectionRead, summary="Resolve an objection"
)
def resolve_objection(objection_id: DbId, body: ResolveIn, session: DB, actor: Writer) -> ObjectionRead:
    """The registrar: uphold (the registration is refused) or dismiss, with the reasons."""
    return service.resolve_objection(session, actor, objection_id, body)


@router.post(
    "/registry/registrations/{registration_id}/register", response_model=RegistrationRead, summary="赋码 (registrar)"
)
def register(registration_id: DbId, session: DB, actor: Writer) -> RegistrationRead:
    """public_notice → registered with its code, from the day after ``notice_until`` (409
    ``registry.notice_not_over`` before) and with every objection resolved (409
    ``registry.objections_pending``)."""
    return service.register(session, actor, registration_id)


@router.get("/registry/verify/{code}", response_model=Verification, summary="Verify a certificate (public)")
def verify(
    code: RegistrationCode,
    session: DB,
    actor: ActorDep,
    fingerprint: Annotated[
        str | None, Query(max_length=64, description="The SHA-256 fingerprint you computed of your data (hex)")
    ] = None,
) -> Verification:
    """Anyone, anonymous included: the certificate's data, its status (valid, superseded, cancelled)
    and, when ``fingerprint`` is given, whether it equals the registered one. 404
    ``registry.not_found`` for an unknown code."""
    return service.verify(session, code, fingerprint, actor=actor)


@router.get(
    "/registry/certificates/{code}.pdf", summary="The certificate as a PDF (public)",
    response_class=Response, responses={200: {"content": {"application/pdf": {}}}},
)  # fmt: skip
def certificate_pdf(code: RegistrationCode, request: Request, session: DB, actor: ActorDep) -> Response:
    """The registration certificate (数据资产登记证书) as A4 PDF, with the verification URL and its QR code."""
    cert = service.certificate(session, actor, code)
    pdf = render_certificate(cert, verification_url(request, cert.code))
    return Response(
        pdf, media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{cert.code}.pdf"', "Cache-Control": "no-store"},
    )  # fmt: skip
