"""Native REST API for enterprise facts (一企一档): the fact catalogue, one enterprise's facts, and
building a new version of the facts table."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from pubdata.api.deps import DB, ActorDep, Home
from pubdata.api.errors import ERROR_RESPONSES
from pubdata.enterprise import service
from pubdata.enterprise.schemas import EnterpriseFacts, FactDefRead, FactsBuild, FactsVersionRead

router = APIRouter(tags=["enterprise"], responses=ERROR_RESPONSES)


class BuildIn(BaseModel):
    year: int | None = Field(
        default=None, ge=1, le=9999, description="Facts year; default the latest full year of trade data"
    )
    force: bool = Field(default=False, description="Build even when no source table changed")


@router.get("/facts", response_model=list[FactDefRead], summary="The fact catalogue")
def fact_catalogue() -> list[FactDefRead]:
    """Every fact of the enterprise facts table: name, title, meaning, type, unit, source entry and
    the rule for an enterprise its source has no record of. Public."""
    return service.fact_catalogue()


@router.get("/facts/versions", response_model=list[FactsVersionRead], summary="Versions of the facts table")
def facts_versions(session: DB, actor: ActorDep) -> list[FactsVersionRead]:
    return service.list_versions(session, actor)


@router.post("/facts/build", response_model=FactsBuild, summary="Build the facts table (operator)")
def build_facts(session: DB, actor: ActorDep, home: Home, body: BuildIn | None = None) -> FactsBuild:
    """Builds in the request: a new version when a source table changed (or ``force``), otherwise
    the current version with ``built: false``."""
    body = body or BuildIn()
    return service.build_facts(session, actor, home=home, year=body.year, force=body.force, via="api")


@router.get("/enterprises/{uscc}/facts", response_model=EnterpriseFacts, summary="One enterprise's facts")
def enterprise_facts(uscc: str, session: DB, actor: ActorDep, home: Home) -> EnterpriseFacts:
    """The enterprise's facts in the current version, each with its title, unit and source entry.
    An organisation's users see their own enterprise; the operator, departments and the regulator
    any; everyone else gets 404."""
    return service.get_facts(session, actor, uscc, home=home)
