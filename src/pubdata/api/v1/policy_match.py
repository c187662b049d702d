"""Native REST API for bulk matching (政策匹配), proactive notices (主动推送) and reach: the operator
runs matching; departments and the regulator see how far each clause reaches; the operator and
departments list the matched enterprises; every enterprise reads its own inbox and matches."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from pubdata.api.deps import DB, ActorDep, Home
from pubdata.api.errors import ERROR_RESPONSES
from pubdata.api.params import DbId, Offset
from pubdata.policy.matching import match, notices, reach
from pubdata.policy.matching.schemas import MatchPage, MatchRunRead, MyMatchRead, NoticeCount, NoticeRead, ReachRead

router = APIRouter(tags=["policy matching"], responses=ERROR_RESPONSES)


@router.post(
    "/policies/{pack}/match",
    response_model=MatchRunRead,
    summary="Match a policy against every enterprise (operator)",
)
def run_match(
    pack: str,
    session: DB,
    actor: ActorDep,
    home: Home,
    force: Annotated[bool, Query(description="Match again even if neither the pack nor the facts changed")] = False,
) -> MatchRunRead:
    """Evaluates every clause for every enterprise of the current facts table in one pass, stores
    the results and sends a notice to each newly eligible enterprise. Returns the run; ``reused``
    is true when the same pack text had already been matched against the same facts version."""
    return match.match_pack(session, actor, pack, home=home, force=force)


@router.get(
    "/policies/{pack}/reach",
    response_model=ReachRead,
    summary="How many enterprises each clause reaches and what it would pay",
)
def policy_reach(pack: str, session: DB, actor: ActorDep, home: Home) -> ReachRead:
    """Per clause, from the latest match run: eligible and undecided enterprises, the known amounts
    (``amount``) and the caps of 最高不超过 figures (``up_to``), overall and by registered district.
    Operator, departments and the regulator."""
    return reach.reach(session, actor, pack, home=home)


@router.get("/policies/{pack}/matches", response_model=MatchPage, summary="The matched enterprises, paged")
def policy_matches(
    pack: str,
    session: DB,
    actor: ActorDep,
    home: Home,
    clause: Annotated[str | None, Query(description="A clause id")] = None,
    district: Annotated[str | None, Query(description="A registered district (区市), or 未知")] = None,
    eligible: Annotated[bool | None, Query(description="true: eligible only; false: undecided only")] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=reach.MAX_PAGE)] = 50,
) -> MatchPage:
    """The enterprises the latest run found eligible or undecided (facts missing), by clause and
    credit code. Operator and departments; every read is audited."""
    return reach.list_matches(
        session, actor, pack, home=home, clause=clause, district=district, eligible=eligible, offset=offset, limit=limit
    )


@router.get("/me/policies", response_model=list[MyMatchRead], summary="Policies for me (为我推荐)")
def my_policies(session: DB, actor: ActorDep) -> list[MyMatchRead]:
    """The clauses the caller's enterprise matches, eligible ones first, with amounts and the
    application link."""
    return reach.my_matches(session, actor)


@router.get("/notices", response_model=list[NoticeRead], summary="My organisation's notices, newest first")
def list_notices(
    session: DB,
    actor: ActorDep,
    unread: Annotated[bool, Query(description="Only the unread ones")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NoticeRead]:
    return notices.list_notices(session, actor, unread_only=unread, limit=limit)


@router.get("/notices/unread-count", response_model=NoticeCount, summary="How many notices are unread")
def unread_count(session: DB, actor: ActorDep) -> NoticeCount:
    return NoticeCount(unread=notices.unread_count(session, actor))


@router.post("/notices/read-all", response_model=NoticeCount, summary="Mark every notice read")
def read_all(session: DB, actor: ActorDep) -> NoticeCount:
    notices.mark_all_read(session, actor)
    return NoticeCount(unread=0)


# ``:int``: a sibling's literal segment (``/notices/read-all``) is not a notice id, so a GET there is
# 405 naming POST (as the document says), not this route's 422
@router.get("/notices/{notice_id:int}", response_model=NoticeRead, summary="One of my notices")
def get_notice(notice_id: DbId, session: DB, actor: ActorDep) -> NoticeRead:
    return notices.get_notice(session, actor, notice_id)


@router.post("/notices/{notice_id:int}/read", response_model=NoticeRead, summary="Mark a notice read")
def mark_read(notice_id: DbId, session: DB, actor: ActorDep) -> NoticeRead:
    return notices.mark_read(session, actor, notice_id)
