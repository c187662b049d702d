"""Native REST API of the data market's products (数据产品): products built on catalogue resources,
their price plans, the listing lifecycle (draft → review → public notice → listed ⇄ suspended →
delisted) and the public price list. The service decides who may do what (docs/market.md): listed
products are public; a product in any other state is seen only by its provider's organisation and
the operator. Writes need the token scope ``market``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from pubdata.access.zones import DEFAULT_ZONES
from pubdata.api.deps import DB, ActorDep
from pubdata.api.errors import ERROR_RESPONSES
from pubdata.api.params import DbId, enum_of
from pubdata.market import service
from pubdata.market.schemas import PlanIn, PlanRead, PriceList, ProductIn, ProductKind, ProductRead, ReviewIn, Scenario

router = APIRouter(tags=["market"], responses=ERROR_RESPONSES)

# the listing's states (``market.schemas.STATES``; tests/market/test_market_api.py keeps them equal)
ProductState = Literal["draft", "under_review", "public_notice", "listed", "suspended", "delisted"]
ZONE_CODES = tuple(z["code"] for z in DEFAULT_ZONES)


class ReasonIn(BaseModel):
    """Why the operator suspends, resumes or delists a product (required to suspend and delist)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=2000)


@router.get("/market/products", response_model=list[ProductRead], summary="Data products")
def list_products(
    session: DB,
    actor: ActorDep,
    scenario: Scenario | None = Query(default=None, description="Application scenario (应用场景)"),
    zone: Annotated[
        str | None, Query(max_length=32, description="Zone code (专区)", json_schema_extra=enum_of(ZONE_CODES))
    ] = None,
    kind: ProductKind | None = Query(default=None, description="Product kind"),
    state: ProductState | None = Query(default=None, description="Listing state (the public sees listed only)"),
    mine: bool = Query(default=False, description="Only the caller's organisation's products, in any state"),
) -> list[ProductRead]:
    """Listed products for everyone, anonymous included (active plans, no history); the provider's
    organisation also sees its own in any state, the operator every product (all plans and the
    listing history). ``mine=true``: the caller's organisation's products only."""
    return service.list_products(session, actor, scenario=scenario, zone=zone, kind=kind, state=state, mine=mine)


@router.get("/market/price-list", response_model=PriceList, summary="The public price list (fee ceilings)")
def price_list(session: DB, actor: ActorDep) -> PriceList:
    """Every listed product with its active plans and each plan's ceiling in fen (the most a buyer
    pays per order, term or month; null where usage is uncapped) — the operators' yearly disclosure."""
    return service.price_list(session, actor)


@router.post("/market/products", response_model=ProductRead, status_code=201, summary="Create a product (draft)")
def create_product(body: ProductIn, session: DB, actor: ActorDep) -> ProductRead:
    """A draft of the caller's organisation (operator or data merchant) on a catalogue resource with a
    table, its contract checked against the table. 403 ``market.not_holder`` (a merchant on data it
    may not build on), 422 ``market.invalid_product`` / ``market.invalid_contract``, 409
    ``market.code_taken``."""
    return service.create_product(session, actor, body)


@router.get("/market/products/{product_id}", response_model=ProductRead, summary="One data product")
def get_product(product_id: DbId, session: DB, actor: ActorDep) -> ProductRead:
    """A listed product (everyone); any state, all plans and the listing history for its provider's
    organisation and the operator; 404 ``market.product_not_found`` for everyone else."""
    return service.get_product(session, actor, product_id)


@router.put("/market/products/{product_id}", response_model=ProductRead, summary="Replace a draft (provider)")
def update_product(product_id: DbId, body: ProductIn, session: DB, actor: ActorDep) -> ProductRead:
    """Only drafts are edited (409 ``market.wrong_state``); the code never changes; the version goes up."""
    return service.update_product(session, actor, product_id, body)


@router.post(
    "/market/products/{product_id}/plans", response_model=PlanRead, status_code=201, summary="Add a price plan"
)
def add_plan(product_id: DbId, body: PlanIn, session: DB, actor: ActorDep) -> PlanRead:
    """A price plan for a draft, in integer fen: 422 ``market.invalid_plan`` (every problem named in
    ``details``), ``market.plan_not_allowed`` (a kind that does not fit the product); 409
    ``market.code_taken``."""
    return service.add_plan(session, actor, product_id, body)


@router.put("/market/plans/{plan_id}", response_model=PlanRead, summary="Change a price plan (draft)")
def update_plan(plan_id: DbId, body: PlanIn, session: DB, actor: ActorDep) -> PlanRead:
    """New terms for a plan of a draft; its code never changes."""
    return service.update_plan(session, actor, plan_id, body)


@router.post("/market/plans/{plan_id}/deactivate", response_model=PlanRead, summary="Withdraw a price plan")
def deactivate_plan(plan_id: DbId, session: DB, actor: ActorDep) -> PlanRead:
    """Any plan of a draft; of a product in notice, listed or suspended only while another active plan
    remains (409 ``market.wrong_state``). Idempotent."""
    return service.deactivate_plan(session, actor, plan_id)


@router.post("/market/products/{product_id}/submit", response_model=ProductRead, summary="Submit for review")
def submit(product_id: DbId, session: DB, actor: ActorDep) -> ProductRead:
    """The provider submits its draft (draft → under_review): at least one active plan, and the
    product still checks against its data."""
    return service.submit(session, actor, product_id)


@router.post("/market/products/{product_id}/review", response_model=ProductRead, summary="Review (operator)")
def review(product_id: DbId, body: ReviewIn, session: DB, actor: ActorDep) -> ProductRead:
    """approve → public notice until today + ``notice_days`` (1–90, default 7); reject → draft, with a
    ``reason``. Nobody reviews what they submitted (403 ``market.own_submission``)."""
    return service.review(session, actor, product_id, body)


@router.post("/market/products/{product_id}/list", response_model=ProductRead, summary="List (operator)")
def list_product(product_id: DbId, session: DB, actor: ActorDep) -> ProductRead:
    """public_notice → listed, from the day after ``notice_until`` (409 ``market.notice_not_over`` before)."""
    return service.list_product(session, actor, product_id)


@router.post("/market/products/{product_id}/suspend", response_model=ProductRead, summary="Suspend (operator)")
def suspend(product_id: DbId, body: ReasonIn, session: DB, actor: ActorDep) -> ProductRead:
    """listed → suspended, with a reason (422 ``market.invalid_product`` on ``reason`` without one)."""
    return service.suspend(session, actor, product_id, body.reason)


@router.post("/market/products/{product_id}/resume", response_model=ProductRead, summary="Resume (operator)")
def resume(product_id: DbId, session: DB, actor: ActorDep, body: ReasonIn | None = None) -> ProductRead:
    """suspended → listed."""
    return service.resume(session, actor, product_id, body.reason if body else "")


@router.post("/market/products/{product_id}/delist", response_model=ProductRead, summary="Delist (operator)")
def delist(product_id: DbId, body: ReasonIn, session: DB, actor: ActorDep) -> ProductRead:
    """From public notice, listed or suspended → delisted, with a reason. Final."""
    return service.delist(session, actor, product_id, body.reason)
