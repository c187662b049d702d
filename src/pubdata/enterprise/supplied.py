"""Facts only the enterprise can supply (``FactDef.supplied``: the ``enterprise_supplied`` source of
the fact-sources file) — stored with who supplied them and when, history kept.

* ``supply_facts`` — the enterprise's own users (``ENTERPRISE_FACTS_SUPPLY``) give values for facts
  declared enterprise-supplied; each value is checked against the fact's type (``check_value``) and
  a bad supply is refused naming every problem per fact, nothing written. A new value supersedes
  the current one, which stays as history; ``null`` withdraws a value (unknown again). Audited
  (``facts.supply``; refusals too).
* ``supplied_facts`` — the current values and the history, with provenance (who may read the
  enterprise's facts).

Visibility: a one-enterprise read (``service.get_facts``, hence policy and tier evaluation of one
enterprise) overlays the current supplied values at once; the facts table (bulk matching, tiers of
every enterprise, scoring) carries them from the next build — a supply makes the facts stale
(``latest_id`` is newer than the version's ``supplied_through``), so the periodic refresh builds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from pubdata.audit import service as audit
from pubdata.authz import Actor, Permission, require
from pubdata.db import utcnow
from pubdata.enterprise import facts as catalogue
from pubdata.enterprise.errors import EnterpriseNotFound, InvalidSuppliedFacts, SupplyConflict, SupplyNotAllowed
from pubdata.enterprise.facts import FACTS, SOURCES, FactDef
from pubdata.enterprise.models import EnterpriseSuppliedFact
from pubdata.enterprise.rights import may_read, own_uscc
from pubdata.enterprise.schemas import FactScalar, SuppliedFactRead, SuppliedFacts, SupplyResult
from pubdata.identity import service as identity

MAX_NOTE = 2000
MAX_TEXT = 200
MAX_MONEY = 10**15  # yuan: beyond any SME's figures, well inside BIGINT
MAX_INTEGER = 10**12
MAX_NUMBER = Decimal(10) ** 15  # DECIMAL(18,2) holds 16 digits before the point
HISTORY_LIMIT = 200
TWO_PLACES = Decimal("0.01")


# --- values ---------------------------------------------------------------------------------------


def _whole(value: Any) -> int | None:
    """An integer given as int, or as a float/Decimal/text without a fraction; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        d = Decimal(str(value).strip()) if isinstance(value, float | Decimal | str) else None
    except InvalidOperation:
        return None
    if d is None or not d.is_finite() or d != d.to_integral_value():
        return None
    return int(d)


def check_value(f: FactDef, value: Any) -> tuple[str | None, str | None]:
    """(canonical text, None) for a value of the fact's type, or (None, why not in Chinese). None
    (withdraw) is always accepted. Money is a non-negative integer of yuan; integers (counts and
    levels) are non-negative; numbers are decimals with at most two places (percentages as 5.0
    for 5%); booleans are true/false; strings one of the fact's values when it lists them."""
    if value is None:
        return None, None
    kind = f.type
    if kind == "boolean":
        if isinstance(value, bool):
            return ("true" if value else "false"), None
        return None, "应为“是”或“否”（true 或 false）"
    if kind in ("money", "integer"):
        n = _whole(value) if not isinstance(value, str) else None
        unit = "元" if kind == "money" else (f.unit or "")
        if n is None:
            return None, f"应为整数{f'（{unit}）' if unit else ''}"
        if n < 0:
            return None, "不能为负数"
        if n > (MAX_MONEY if kind == "money" else MAX_INTEGER):
            return None, "数值过大"
        return str(n), None
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            return None, "应为数字" + ("（百分比按 5.0 表示 5%）" if f.unit == "%" else "")
        d = Decimal(str(value))
        if not d.is_finite():
            return None, "应为有限的数字"
        if d != d.quantize(TWO_PLACES):
            return None, "最多保留两位小数"
        if abs(d) >= MAX_NUMBER:
            return None, "数值过大"
        return format(d.quantize(TWO_PLACES), "f"), None
    if kind == "date":
        if isinstance(value, datetime) or not isinstance(value, date | str):
            return None, "应为日期（YYYY-MM-DD）"
        try:
            day = value if isinstance(value, date) else date.fromisoformat(value.strip())
        except ValueError:
            return None, "应为日期（YYYY-MM-DD）"
        return day.isoformat(), None
    # string, district
    if not isinstance(value, str) or not value.strip():
        return None, "应为非空文本"
    text = value.strip()
    allowed = f.values if kind == "string" else catalogue.DISTRICTS
    if allowed:
        if text not in allowed:
            return None, f"应为以下之一：{'、'.join(allowed)}"
    elif len(text) > MAX_TEXT:
        return None, f"最多 {MAX_TEXT} 个字"
    return text, None


def typed(f: FactDef, text: str | None) -> FactScalar:
    """A stored canonical text as the fact's value (None when it no longer reads as the fact's type,
    e.g. after the fact-sources file changed the type)."""
    if text is None:
        return None
    try:
        if f.type == "boolean":
            return {"true": True, "false": False}.get(text)
        if f.type in ("money", "integer"):
            return int(text)
        if f.type == "number":
            return Decimal(text).quantize(TWO_PLACES)
        if f.type == "date":
            return date.fromisoformat(text)
    except (ValueError, InvalidOperation):
        return None
    return text


def _shown(value: Any) -> str:
    """The refused value as the user typed it: numbers plainly, text in quotes (no Python repr)."""
    if isinstance(value, bool):
        text = "是" if value else "否"
    elif isinstance(value, int | float | Decimal):
        text = str(value)
    elif isinstance(value, str):
        text = f"“{value}”"
    else:
        text = type(value).__name__ if isinstance(value, list | dict) else str(value)
    return text if len(text) <= 40 else text[:37] + "…"


# --- reading --------------------------------------------------------------------------------------


def _read(row: EnterpriseSuppliedFact) -> SuppliedFactRead:
    f = FACTS.get(row.name)
    return SuppliedFactRead(
        id=row.id,
        name=row.name,
        title=f.title if f else row.name,
        type=f.type if f else "string",
        unit=f.unit if f else "",
        value=typed(f, row.value) if f else row.value,
        note=row.note,
        supplied_by=row.supplied_by_name,
        supplied_by_user_id=row.supplied_by,
        organisation_id=row.organisation_id,
        supplied_at=row.supplied_at,
        superseded_at=row.superseded_at,
    )


@dataclass(frozen=True)
class Current:
    """The current supplied value of one fact, typed, with its provenance."""

    value: FactScalar
    supplied_by: str
    supplied_at: datetime
    note: str


def current_values(session: Session, uscc: str) -> dict[str, Current]:
    """The current supplied value of each enterprise-supplied fact of the enterprise (withdrawn ones
    included, as None). No permission check: the caller read the enterprise's facts."""
    rows = session.scalars(
        select(EnterpriseSuppliedFact).where(
            EnterpriseSuppliedFact.uscc == uscc, EnterpriseSuppliedFact.superseded_at.is_(None)
        )
    )
    out: dict[str, Current] = {}
    for row in rows:
        f = FACTS.get(row.name)
        if f is not None and f.supplied:
            out[row.name] = Current(typed(f, row.value), row.supplied_by_name, row.supplied_at, row.note)
    return out


def supplied_facts(session: Session, actor: Actor, uscc: str, *, history: int = HISTORY_LIMIT) -> SuppliedFacts:
    """The enterprise's supplied facts: current values (withdrawn ones left out) and the latest
    ``history`` rows, newest first, each with who supplied it and when. Its own users and those who
    may read any enterprise's facts; "not found" for everyone else (refusal audited)."""
    code = uscc.strip().upper()
    if not may_read(session, actor, code):
        audit.refuse(
            session,
            actor,
            audit.Event("facts.supplied_read", reason=f"无权读取企业填报信息：{code}", details={"uscc": code}),
        )
        raise EnterpriseNotFound(f"企业档案中没有该企业：{code}")
    catalogue.refresh()
    rows = session.scalars(
        select(EnterpriseSuppliedFact)
        .where(EnterpriseSuppliedFact.uscc == code)
        .order_by(EnterpriseSuppliedFact.id.desc())
        .limit(max(history, 0) or 1)
    ).all()
    current = session.scalars(
        select(EnterpriseSuppliedFact)
        .where(
            EnterpriseSuppliedFact.uscc == code,
            EnterpriseSuppliedFact.superseded_at.is_(None),
            EnterpriseSuppliedFact.value.is_not(None),
        )
        .order_by(EnterpriseSuppliedFact.name)
    ).all()
    order = {name: i for i, name in enumerate(FACTS)}
    current_read = sorted((_read(r) for r in current), key=lambda r: order.get(r.name, len(order)))
    return SuppliedFacts(uscc=code, current=current_read, history=[_read(r) for r in rows][: max(history, 0)])


# --- supplying ------------------------------------------------------------------------------------


def _refuse(session: Session, actor: Actor, code: str, names: list[str], reason: str) -> None:
    event = audit.Event("facts.supply", reason=reason, details={"uscc": code, "facts": names[:100]})
    audit.refuse(session, actor, event)


def check_supply(values: Mapping[str, Any], note: str) -> tuple[dict[str, str | None], list[dict[str, str]]]:
    """Every value checked: (canonical text per fact, problems naming each fact)."""
    problems: list[dict[str, str]] = []
    checked: dict[str, str | None] = {}
    if not values:
        problems.append({"field": "facts", "message": "没有要填报的事实"})
    for name, value in values.items():
        f = FACTS.get(name)
        where = f"facts.{name}"
        if f is None:
            problems.append({"field": where, "message": f"未知的事实：{name}"})
        elif not f.supplied:
            source = SOURCES[f.source].title
            problems.append(
                {"field": where, "message": f"{f.title}（{name}）由公共数据（{source}）提供，不能由企业填报"}
            )
        else:
            text, why = check_value(f, value)
            if why is not None:
                problems.append({"field": where, "message": f"{f.title}{why}：{_shown(value)}"})
            else:
                checked[name] = text
    if len(note) > MAX_NOTE:
        problems.append({"field": "note", "message": f"说明最多 {MAX_NOTE} 个字"})
    return checked, problems


def check_may_supply(session: Session, actor: Actor, uscc: str, names: list[str] | None = None) -> str:
    """The credit code (normalised) when the actor may supply this enterprise's facts: its own
    users with ``ENTERPRISE_FACTS_SUPPLY`` (the ``enterprise`` role; a token needs the ``policy``
    scope). The permission is checked first (401 for the public, 403 without it: the operator,
    departments, the regulator, banks, a token without the scope); then the enterprise: one the
    actor may read but is not its own gives ``SupplyNotAllowed`` (403), any other "not found".
    Every refusal is audited."""
    code = uscc.strip().upper()
    names = names or []
    if not actor.can(Permission.ENTERPRISE_FACTS_SUPPLY):
        _refuse(session, actor, code, names, "没有填报企业信息的权限")
        require(actor, Permission.ENTERPRISE_FACTS_SUPPLY)
    if not code or own_uscc(session, actor) != code:
        _refuse(session, actor, code, names, f"只有企业本身的用户可以填报其企业档案：{code}")
        if may_read(session, actor, code):
            raise SupplyNotAllowed(f"只有企业本身的用户可以填报企业档案中的企业填报信息：{code}")
        raise EnterpriseNotFound(f"企业档案中没有该企业：{code}")
    return code


def supply_facts(session: Session, actor: Actor, uscc: str, values: Mapping[str, Any], note: str = "") -> SupplyResult:
    """Store the values the enterprise's own user supplies for its enterprise-supplied facts, each
    with who supplied it, when, and ``note`` (evidence). Refused, with nothing written: when the
    actor may not supply (``check_may_supply``: 403 without the permission, "not found" for another
    enterprise); ``InvalidSuppliedFacts`` naming every problem per fact (unknown fact, a public
    fact, a value not of the fact's type); ``SupplyConflict`` when another supply of the same fact
    raced it. A value equal to the current one (same note) writes nothing; ``None`` withdraws the
    current value. Audited (fact names, not values)."""
    names = [str(n) for n in values]
    code = check_may_supply(session, actor, uscc, names)
    catalogue.refresh()
    note = (note or "").strip()
    checked, problems = check_supply(values, note)
    if problems:
        _refuse(session, actor, code, names, "填报的企业信息有误")
        message = "；".join(p["message"] for p in problems)
        raise InvalidSuppliedFacts(f"填报的企业信息有 {len(problems)} 处错误：{message}", details=problems)

    user = identity.current_user(session, actor)
    who = user.display_name or user.username
    now = utcnow()
    stored: list[str] = []
    unchanged: list[str] = []
    try:
        with session.begin_nested():
            current = {
                r.name: r
                for r in session.scalars(
                    select(EnterpriseSuppliedFact).where(
                        EnterpriseSuppliedFact.uscc == code,
                        EnterpriseSuppliedFact.superseded_at.is_(None),
                        EnterpriseSuppliedFact.name.in_(list(checked)),
                    )
                )
            }
            for name, text in checked.items():
                old = current.get(name)
                if (old is None and text is None) or (old is not None and old.value == text and old.note == note):
                    unchanged.append(name)
                    continue
                if old is not None:
                    old.superseded_at = now
                    session.flush()  # the old row stops being current before the new one is
                session.add(
                    EnterpriseSuppliedFact(
                        uscc=code, name=name, value=text, note=note, organisation_id=actor.organisation_id,
                        supplied_by=actor.user_id, supplied_by_name=who, supplied_at=now,
                        supersedes=old.id if old is not None else None,
                    )
                )  # fmt: skip
                stored.append(name)
            session.flush()
    except IntegrityError:
        raise SupplyConflict("同一事实刚刚被另一次填报更新，请刷新后重试") from None
    if stored:
        audit.record(
            session, actor, audit.Event("facts.supply", rows=len(stored), details={"uscc": code, "facts": stored})
        )
    return SupplyResult(stored=stored, unchanged=unchanged, facts=supplied_facts(session, actor, code))


# --- the build ------------------------------------------------------------------------------------


def latest_id(session: Session) -> int | None:
    """The newest supplied value's id (None before any): a build records it as ``supplied_through``."""
    return session.scalar(select(func.max(EnterpriseSuppliedFact.id)))


def build_snapshot(session: Session, through: int | None) -> list[tuple[str, str, str]]:
    """What a build carries: every value current as of row ``through`` (``latest_id`` when the
    build began) and not withdrawn, as ``(uscc, fact, canonical text)`` — only facts the catalogue
    declares enterprise-supplied. A later supply is left to the next build (it makes the facts
    stale)."""
    if through is None:
        return []
    later = aliased(EnterpriseSuppliedFact)
    s = EnterpriseSuppliedFact
    rows = session.execute(
        select(s.uscc, s.name, s.value)
        .where(s.id <= through, s.value.is_not(None))
        .where(~exists().where(later.supersedes == s.id, later.id <= through))
        .order_by(s.uscc, s.name)
    ).all()
    supplied = {f.name for f in FACTS.values() if f.supplied}
    return [(u, n, v) for u, n, v in rows if n in supplied and v is not None]
