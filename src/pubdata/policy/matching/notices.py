"""Proactive notices (主动推送): when matching finds an enterprise newly eligible for a clause, a
notice goes to its inbox with the clause, the computed amount and a link to the one-click
application prefilled from its facts.

A notice belongs to the enterprise (its credit code). It is linked to the platform organisation
with that code when there is one; an enterprise that has not signed up yet still gets its notice
(``organisation_id`` NULL) and sees it once an organisation with its code exists. Everyone signed in
reads only their own organisation's notices; someone else's is "not found".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from pubdata import bulk
from pubdata.authz import Actor, Permission, require
from pubdata.db import utcnow
from pubdata.enterprise import service as enterprise
from pubdata.errors import NotFound
from pubdata.identity import service as identity
from pubdata.policy.matching.schemas import NoticeRead
from pubdata.policy.models import PolicyNotice
from pubdata.policy.packs.explain import money
from pubdata.policy.packs.pack import Pack

NOTICE_COLUMNS = ("organisation_id", "uscc", "clause_id", "amount", "amount_kind", "title", "body")


class NoticeNotFound(NotFound):
    code = "policy.notice_not_found"


@dataclass(frozen=True)
class NewlyEligible:
    uscc: str
    clause_id: str
    amount: int | None
    amount_kind: str


def apply_url(pack_id: str, clause_id: str) -> str:
    """The one-click application for a clause (the form prefills from the enterprise's facts)."""
    return f"/policies/{pack_id}/apply/{clause_id}"


def amount_text(amount: int | None, kind: str) -> str:
    """``10万元``, ``最高50万元`` (最高不超过: the reviewer sets the amount), or ``金额待核定``."""
    if amount is None or kind == "assessed":
        return "金额待核定"
    if kind == "up_to":
        return f"最高{money(amount)}"
    return money(amount)


def notice_text(pack: Pack, clause_id: str, amount: int | None, kind: str, facts: str) -> tuple[str, str]:
    """The notice's title and body (plain text, paragraphs separated by blank lines)."""
    clause = pack.clause(clause_id)
    figure = amount_text(amount, kind)
    title = f"您符合“{clause.title}”条件：{figure}"
    if amount is None or kind == "assessed":
        how = "政策原文未规定具体数额或测算所需的信息不全，金额由审核部门核定。"
    elif kind == "up_to":
        base = f"（含基础奖励{money(clause.amount.base)}）" if clause.amount.base else ""
        how = f"可获扶持最高不超过{money(amount)}{base}，具体金额由审核部门核定。"
    else:
        how = f"按政策测算可获扶持{money(amount)}，以审核部门核定为准。"
    paragraphs = [
        f"根据{facts}中的公共数据，贵企业符合《{pack.spec.title}》{clause.article}“{clause.title}”的条件。{how}",
        f"政策原文：“{clause.text}”",
        f"申报方式：向{pack.reviewing_office}提出申请。点击“一键申报”，申报表将按企业档案预填，"
        "核对并上传材料后即可提交。",
    ]
    if clause.materials:
        paragraphs.append("所需材料：" + "、".join(clause.materials) + "。")
    return title[:300], "\n\n".join(paragraphs)


def create_notices(
    session: Session, pack: Pack, pack_version_id: int, facts: str, pairs: Iterable[NewlyEligible]
) -> int:
    """One notice per newly eligible pair (the matching run decided which); returns how many.
    ``facts`` names the facts the decision came from, as the body says it."""
    pairs = list(pairs)
    if not pairs:
        return 0
    orgs = identity.organisation_ids_by_uscc(session, sorted({p.uscc for p in pairs}))
    texts: dict[tuple[str, int | None, str], tuple[str, str]] = {}  # the same text for many enterprises
    rows = []
    for p in pairs:
        key = (p.clause_id, p.amount, p.amount_kind)
        if key not in texts:
            texts[key] = notice_text(pack, p.clause_id, p.amount, p.amount_kind, facts)
        title, body = texts[key]
        rows.append((orgs.get(p.uscc), p.uscc, p.clause_id, p.amount, p.amount_kind, title, body))
    constants = {"pack_version_id": pack_version_id, "pack_id": pack.id, "created_at": utcnow()}
    return bulk.insert_rows(session, cast(Table, PolicyNotice.__table__), NOTICE_COLUMNS, [rows], constants=constants)


# --- the inbox -----------------------------------------------------------------------------------------


def _mine(session: Session, actor: Actor) -> ColumnElement[bool] | None:
    """The condition selecting the actor's notices: its organisation's, and those sent to its credit
    code before it had an organisation on the platform. None without an organisation."""
    require(actor, Permission.POLICY_NOTICE_READ)
    if actor.organisation_id is None:
        return None
    uscc = enterprise.own_uscc(session, actor)
    own = PolicyNotice.organisation_id == actor.organisation_id
    if uscc is None:
        return own
    return or_(own, and_(PolicyNotice.organisation_id.is_(None), PolicyNotice.uscc == uscc))


def notice_read(n: PolicyNotice) -> NoticeRead:
    return NoticeRead(
        id=n.id,
        pack_id=n.pack_id,
        clause_id=n.clause_id,
        uscc=n.uscc,
        amount=n.amount,
        amount_kind=n.amount_kind,
        amount_text=amount_text(n.amount, n.amount_kind),
        title=n.title,
        body=n.body,
        apply_url=apply_url(n.pack_id, n.clause_id),
        created_at=n.created_at,
        read_at=n.read_at,
        application_id=n.application_id,
    )


def list_notices(session: Session, actor: Actor, *, unread_only: bool = False, limit: int = 100) -> list[NoticeRead]:
    """The actor's organisation's notices, newest first (at most ``limit``)."""
    mine = _mine(session, actor)
    if mine is None:
        return []
    stmt = select(PolicyNotice).where(mine)
    if unread_only:
        stmt = stmt.where(PolicyNotice.read_at.is_(None))
    stmt = stmt.order_by(PolicyNotice.created_at.desc(), PolicyNotice.id.desc()).limit(max(1, min(limit, 500)))
    return [notice_read(n) for n in session.scalars(stmt)]


def unread_count(session: Session, actor: Actor) -> int:
    """How many of the actor's notices are unread (the inbox badge)."""
    mine = _mine(session, actor)
    if mine is None:
        return 0
    return session.scalar(select(func.count()).where(mine, PolicyNotice.read_at.is_(None))) or 0


def get_notice(session: Session, actor: Actor, notice_id: int) -> NoticeRead:
    """One of the actor's notices; anyone else's is "not found"."""
    return notice_read(_own_notice(session, actor, notice_id))


def _own_notice(session: Session, actor: Actor, notice_id: int) -> PolicyNotice:
    mine = _mine(session, actor)
    row = None if mine is None else session.scalar(select(PolicyNotice).where(mine, PolicyNotice.id == notice_id))
    if row is None:
        raise NoticeNotFound(f"没有这条政策推送：{notice_id}")
    return row


def mark_read(session: Session, actor: Actor, notice_id: int, *, at: datetime | None = None) -> NoticeRead:
    """Mark one of the actor's notices read (reading it again keeps the first time)."""
    row = _own_notice(session, actor, notice_id)
    if row.read_at is None:
        row.read_at = at or utcnow()
        session.flush()
    return notice_read(row)


def mark_all_read(session: Session, actor: Actor) -> int:
    """Mark every unread notice of the actor's read; returns how many."""
    mine = _mine(session, actor)
    if mine is None:
        return 0
    result = session.execute(
        update(PolicyNotice).where(mine, PolicyNotice.read_at.is_(None)).values(read_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0)
