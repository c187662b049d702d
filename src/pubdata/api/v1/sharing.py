"""Native REST API for Delta Sharing recipient profiles (the protocol itself is ``/delta-sharing``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from pubdata.api.deps import DB, ActorDep
from pubdata.api.errors import ERROR_RESPONSES
from pubdata.api.params import DbId
from pubdata.sharing import profiles
from pubdata.sharing.schemas import ProfileCreate, ProfileCreated, ProfileRead

router = APIRouter(tags=["Delta Sharing"], responses=ERROR_RESPONSES)


@router.get("/sharing/profiles", response_model=list[ProfileRead], summary="The caller's Delta Sharing profiles")
def list_profiles(
    session: DB,
    actor: ActorDep,
    everyone: Annotated[bool, Query(alias="all", description="Every user's profiles (operator, admin)")] = False,
) -> list[ProfileRead]:
    return profiles.list_profiles(session, actor, everyone=everyone)


@router.post(
    "/sharing/profiles",
    response_model=ProfileCreated,
    status_code=201,
    summary="Issue a Delta Sharing recipient profile for the caller (the profile file is shown once)",
)
def issue_profile(body: ProfileCreate, request: Request, session: DB, actor: ActorDep) -> ProfileCreated:
    base_url = request.app.state.settings.resolved_base_url
    row, file = profiles.issue_profile(session, actor, name=body.name, days=body.days, base_url=base_url)
    return ProfileCreated(**profiles.profile_read(row).model_dump(), profile=file)


@router.delete("/sharing/profiles/{profile_id}", response_model=ProfileRead, summary="Revoke a Delta Sharing profile")
def revoke_profile(
    profile_id: DbId,
    session: DB,
    actor: ActorDep,
    reason: Annotated[str, Query(max_length=500)] = "",
) -> ProfileRead:
    return profiles.revoke_profile(session, actor, profile_id, reason)
