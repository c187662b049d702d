"""Native REST API for zones (金融专区, 医疗专区): members, applications, the zone catalogue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from pubdata.access import zones
from pubdata.api.deps import DB, ActorDep
from pubdata.api.errors import ERROR_RESPONSES
from pubdata.api.params import DbId
from pubdata.catalog import service as catalog
from pubdata.catalog.schemas import entry_summary

router = APIRouter(tags=["zones"], responses=ERROR_RESPONSES)


class ApplicationIn(BaseModel):
    qualifications: str = Field(min_length=10, max_length=4000, description="资质说明：许可证、备案、安全认证等")


class MemberDecision(BaseModel):
    admit: bool
    reason: str = Field(default="", max_length=2000)


class EntryIn(BaseModel):
    entry: str = Field(description="The entry's code or name")


class MemberRead(BaseModel):
    id: int
    organisation_id: int
    state: str
    qualifications: str
    applied_at: datetime
    reviewed_at: datetime | None
    reason: str


def _member(m: zones.ZoneMember) -> MemberRead:
    return MemberRead(
        id=m.id, organisation_id=m.organisation_id, state=m.state, qualifications=m.qualifications,
        applied_at=m.applied_at, reviewed_at=m.reviewed_at, reason=m.reason,
    )  # fmt: skip


def _zone(view: zones.ZoneView) -> dict[str, Any]:
    z = view.zone
    return {
        "code": z.code,
        "name": z.name,
        "description": z.description,
        "member_kinds": z.member_kinds.split(","),
        "sandbox_only_personal": z.sandbox_only_personal,
        "entries": view.entries,
        "members": view.members,
        "my_membership": view.my_state,
    }


@router.get("/zones", summary="Zones with their sizes and the caller's membership")
def list_zones(session: DB, actor: ActorDep) -> list[dict[str, Any]]:
    return [_zone(v) for v in zones.list_zones(session, actor)]


@router.get("/zones/{code}", summary="A zone and its catalogue")
def get_zone(code: str, session: DB, actor: ActorDep) -> dict[str, Any]:
    view = next((v for v in zones.list_zones(session, actor) if v.zone.code == code), None)
    if view is None:
        raise zones.ZoneNotFound(f"专区不存在：{code}")
    entries = [catalog.get_entry(session, actor, i) for i in zones.entry_ids(session, code)]
    return {**_zone(view), "catalogue": [entry_summary(e).model_dump(mode="json") for e in entries]}


@router.post("/zones/{code}/applications", response_model=MemberRead, status_code=201, summary="Apply to join")
def apply(code: str, body: ApplicationIn, session: DB, actor: ActorDep) -> MemberRead:
    return _member(zones.apply(session, actor, code, body.qualifications))


@router.get("/zones/{code}/members", response_model=list[MemberRead], summary="Applications and members")
def members(code: str, session: DB, actor: ActorDep) -> list[MemberRead]:
    return [_member(m) for m in zones.list_members(session, actor, code)]


@router.post("/zones/{code}/members/{member_id}/decision", response_model=MemberRead, summary="Admit or reject")
def decide(code: str, member_id: DbId, body: MemberDecision, session: DB, actor: ActorDep) -> MemberRead:
    return _member(zones.review_member(session, actor, code, member_id, body.admit, body.reason))


@router.post("/zones/{code}/entries", status_code=201, summary="Put a catalogue entry into the zone")
def add_entry(code: str, body: EntryIn, session: DB, actor: ActorDep) -> dict[str, Any]:
    item = zones.add_entry(session, actor, code, body.entry)
    return {"zone": code, "entry_id": item.entry_id}
