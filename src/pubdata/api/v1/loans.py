"""Native REST API of the bank–enterprise channel (银企直通车): loan products, an enterprise's
matches, applications and the bank's pipeline, and the finance zone's dashboard."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query

from pubdata.api.deps import DB, ActorDep, Home
from pubdata.api.errors import ERROR_RESPONSES
from pubdata.api.params import DbId
from pubdata.finance.loans import service
from pubdata.finance.loans.schemas import ApplicationIn, ApplicationRead, ProductIn, ProductMatch, ProductRead, StepIn

router = APIRouter(tags=["finance"], responses=ERROR_RESPONSES)

ApplicationState = Literal[
    "received", "reviewing", "approved", "declined", "disbursed", "repaid", "defaulted", "withdrawn"
]


@router.get("/loan-products", response_model=list[ProductRead], summary="Loan products")
def list_products(session: DB, actor: ActorDep, mine: bool = False) -> list[ProductRead]:
    """Published products (public); ``mine=true``: every product of the caller's bank, drafts included."""
    return service.list_products(session, actor, mine=mine)


@router.post("/loan-products", response_model=ProductRead, status_code=201, summary="Create a product (bank)")
def create_product(body: ProductIn, session: DB, actor: ActorDep) -> ProductRead:
    """A draft product of the caller's bank (admitted to the finance zone); the eligibility rule is
    type-checked against the loan inputs."""
    return service.create_product(session, actor, body)


@router.get("/loan-products/{product_id}", response_model=ProductRead, summary="One product")
def get_product(product_id: DbId, session: DB, actor: ActorDep) -> ProductRead:
    return service.get_product(session, actor, product_id)


@router.put("/loan-products/{product_id}", response_model=ProductRead, summary="Change a product (bank)")
def update_product(product_id: DbId, body: ProductIn, session: DB, actor: ActorDep) -> ProductRead:
    return service.update_product(session, actor, product_id, body)


@router.post("/loan-products/{product_id}/publish", response_model=ProductRead, summary="Publish a product")
def publish_product(product_id: DbId, session: DB, actor: ActorDep) -> ProductRead:
    return service.set_product_state(session, actor, product_id, "published")


@router.post("/loan-products/{product_id}/withdraw", response_model=ProductRead, summary="Withdraw a product")
def withdraw_product(product_id: DbId, session: DB, actor: ActorDep) -> ProductRead:
    return service.set_product_state(session, actor, product_id, "withdrawn")


@router.get("/enterprises/{uscc}/loan-matches", response_model=list[ProductMatch], summary="Products matched")
def loan_matches(uscc: str, session: DB, actor: ActorDep, home: Home) -> list[ProductMatch]:
    """Every published product against the enterprise's facts: eligible, not, or undecided with what
    is missing, and the reasons in Chinese. Its own users (and those who may read any enterprise)."""
    return service.match_products(session, actor, uscc, home=home)


@router.post("/loan-applications", response_model=ApplicationRead, status_code=201, summary="Apply (enterprise)")
def apply(body: ApplicationIn, session: DB, actor: ActorDep, home: Home) -> ApplicationRead:
    """Apply for a product in one step, attaching a live consent to its bank."""
    return service.apply(session, actor, body, home=home)


@router.get("/loan-applications", response_model=list[ApplicationRead], summary="Loan applications")
def list_applications(
    session: DB, actor: ActorDep, state: ApplicationState | None = Query(default=None)
) -> list[ApplicationRead]:
    return service.list_applications(session, actor, state=state)


@router.get("/loan-applications/{application_id}", response_model=ApplicationRead, summary="One application")
def get_application(application_id: DbId, session: DB, actor: ActorDep) -> ApplicationRead:
    return service.get_application(session, actor, application_id)


@router.post("/loan-applications/{application_id}/steps", response_model=ApplicationRead, summary="Bank step")
def step(application_id: DbId, body: StepIn, session: DB, actor: ActorDep) -> ApplicationRead:
    """review, approve (amount, rate_bp, term_months), decline (note), disburse, repaid, defaulted."""
    return service.step(session, actor, application_id, body)


@router.post("/loan-applications/{application_id}/withdraw", response_model=ApplicationRead, summary="Withdraw")
def withdraw(application_id: DbId, session: DB, actor: ActorDep) -> ApplicationRead:
    return service.withdraw(session, actor, application_id)


@router.get("/finance/dashboard", summary="Credit extended through the channel (aggregates)")
def dashboard(session: DB, actor: ActorDep) -> dict[str, Any]:
    """Applications, approvals and amounts by district, industry, tier, grade, product and state."""
    return service.dashboard(session, actor)
