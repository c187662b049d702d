"""Zones (专区): first-class spaces with their own members, catalogue and rules.

The finance zone (金融专区) serves banks' credit scenarios; the medical zone (医疗专区) medical and
health data. An organisation applies with its qualifications and the operator admits or rejects it;
the operator puts catalogue entries into a zone. Rules, enforced when access is requested:
only admitted members may request a zone's 有条件开放 entries; the medical zone allows only sandbox
(aggregate) access to tables holding personal information.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pubdata.access.models import Zone, ZoneEntry, ZoneMember
from pubdata.audit import service as audit
from pubdata.authz import Actor, Permission, require
from pubdata.catalog import service as catalog
from pubdata.db import utcnow
from pubdata.errors import Conflict, Forbidden, Invalid, NotFound

DEFAULT_ZONES: tuple[dict[str, Any], ...] = (
    {
        "code": "finance",
        "name": "金融专区",
        "description": "面向银行等金融机构的普惠金融、信贷审批场景，汇集企业登记、纳税、社保、水电等公共数据。",
        "member_kinds": "bank,data_merchant,appraisal_agency",
        "sandbox_only_personal": False,
    },
    {
        "code": "medical",
        "name": "医疗专区",
        "description": "面向医疗机构、医保研究与商业保险的医疗健康数据专区："
        "个人健康数据只可在隐私计算沙箱中做聚合统计。",
        "member_kinds": "department,enterprise,data_merchant,appraisal_agency,bank",
        "sandbox_only_personal": True,
    },
)
KIND_LABELS = {
    "department": "政府部门", "operator": "运营方", "enterprise": "企业", "bank": "银行",
    "data_merchant": "数据商", "appraisal_agency": "评估机构", "regulator": "监管方",
}  # fmt: skip


class ZoneNotFound(NotFound):
    code = "access.zone_not_found"


class ZoneRule(Forbidden):
    code = "access.zone_rule"


@dataclass
class ZoneView:
    zone: Zone
    entries: int
    members: int
    my_state: str | None


def ensure_default_zones(session: Session) -> None:
    """Create the finance and medical zones if missing (idempotent)."""
    existing = set(session.scalars(select(Zone.code)))
    for spec in DEFAULT_ZONES:
        if spec["code"] not in existing:
            session.add(Zone(**spec))
    session.flush()


def get_zone(session: Session, code: str) -> Zone:
    ensure_default_zones(session)
    zone = session.scalar(select(Zone).where(Zone.code == code))
    if zone is None:
        raise ZoneNotFound(f"专区不存在：{code}")
    return zone


def list_zones(session: Session, actor: Actor) -> list[ZoneView]:
    ensure_default_zones(session)
    out = []
    for zone in session.scalars(select(Zone).order_by(Zone.id)):
        entries = session.scalar(select(func.count()).where(ZoneEntry.zone_id == zone.id)) or 0
        members = (
            session.scalar(select(func.count()).where(ZoneMember.zone_id == zone.id, ZoneMember.state == "admitted"))
            or 0
        )
        out.append(ZoneView(zone, entries, members, membership_state(session, zone.id, actor.organisation_id)))
    return out


def membership_state(session: Session, zone_id: int, organisation_id: int | None) -> str | None:
    if organisation_id is None:
        return None
    return session.scalar(
        select(ZoneMember.state).where(ZoneMember.zone_id == zone_id, ZoneMember.organisation_id == organisation_id)
    )


def apply(session: Session, actor: Actor, code: str, qualifications: str) -> ZoneMember:
    """An organisation applies to join a zone, stating its qualifications."""
    require(actor, Permission.ACCESS_REQUEST_CREATE)
    zone = get_zone(session, code)
    if actor.organisation_id is None or actor.organisation_kind is None:
        raise Forbidden("以机构身份登录后才能申请加入专区")
    if actor.organisation_kind not in zone.member_kinds.split(","):
        allowed = "、".join(KIND_LABELS.get(k, k) for k in zone.member_kinds.split(","))
        raise ZoneRule(f"{zone.name}只接受以下机构加入：{allowed}")
    if len(qualifications.strip()) < 10:
        raise Invalid("请说明资质（许可证、备案、安全认证等），至少 10 个字", field="qualifications")
    member = session.scalar(
        select(ZoneMember).where(ZoneMember.zone_id == zone.id, ZoneMember.organisation_id == actor.organisation_id)
    )
    if member is not None and member.state != "rejected":
        raise Conflict(f"已{'加入' if member.state == 'admitted' else '申请加入'}{zone.name}")
    if member is None:
        member = ZoneMember(zone_id=zone.id, organisation_id=actor.organisation_id)
        session.add(member)
    member.state = "applied"
    member.qualifications = qualifications.strip()
    member.applied_by = actor.user_id
    member.applied_at = utcnow()
    member.reviewed_by, member.reviewed_at, member.reason = None, None, ""
    session.flush()
    audit.record(session, actor, audit.Event("zone.apply", details={"zone": zone.code}))
    return member


def review_member(
    session: Session, actor: Actor, code: str, member_id: int, admit: bool, reason: str = ""
) -> ZoneMember:
    """The operator admits or rejects an application (a reason is required to reject)."""
    require(actor, Permission.ACCESS_GRANT_ISSUE)
    zone = get_zone(session, code)
    member = session.get(ZoneMember, member_id)
    if member is None or member.zone_id != zone.id:
        raise ZoneNotFound(f"专区申请不存在：{member_id}")
    if member.state != "applied":
        raise Conflict(f"该申请已处理（{member.state}）")
    if not admit and not reason.strip():
        raise Invalid("驳回需说明理由", field="reason")
    member.state = "admitted" if admit else "rejected"
    member.reviewed_by, member.reviewed_at, member.reason = actor.user_id, utcnow(), reason
    session.flush()
    details = {"zone": zone.code, "organisation_id": member.organisation_id}
    audit.record(session, actor, audit.Event("zone.admit" if admit else "zone.reject", reason=reason, details=details))
    return member


def list_members(session: Session, actor: Actor, code: str) -> list[ZoneMember]:
    """Applications and members (the operator and the regulator see all; others their own)."""
    zone = get_zone(session, code)
    stmt = select(ZoneMember).where(ZoneMember.zone_id == zone.id).order_by(ZoneMember.id)
    if not (actor.can(Permission.ACCESS_GRANT_ISSUE) or actor.can(Permission.AUDIT_TRAIL_READ)):
        stmt = stmt.where(ZoneMember.organisation_id == actor.organisation_id)
    return list(session.scalars(stmt))


def add_entry(session: Session, actor: Actor, code: str, entry_key: str) -> ZoneEntry:
    """The operator puts a catalogue entry into a zone's catalogue."""
    require(actor, Permission.ACCESS_GRANT_ISSUE)
    zone = get_zone(session, code)
    entry = catalog.get_entry(session, actor, entry_key)
    existing = session.get(ZoneEntry, (zone.id, entry.id))
    if existing is not None:
        return existing
    item = ZoneEntry(zone_id=zone.id, entry_id=entry.id)
    session.add(item)
    session.flush()
    audit.record(session, actor, audit.Event("zone.add_entry", entry_code=entry.code, details={"zone": zone.code}))
    return item


def entry_ids(session: Session, code: str) -> list[int]:
    zone = get_zone(session, code)
    return list(session.scalars(select(ZoneEntry.entry_id).where(ZoneEntry.zone_id == zone.id)))


def zones_of_entry(session: Session, entry_id: int) -> list[Zone]:
    stmt = select(Zone).join(ZoneEntry, ZoneEntry.zone_id == Zone.id).where(ZoneEntry.entry_id == entry_id)
    return list(session.scalars(stmt))


def check_request(session: Session, actor: Actor, entry_id: int, mode: str, has_personal: bool) -> None:
    """The zone rules for a request: membership of every zone holding the entry, and sandbox-only
    access to personal information in zones that say so."""
    for zone in zones_of_entry(session, entry_id):
        if membership_state(session, zone.id, actor.organisation_id) != "admitted":
            raise ZoneRule(f"该数据属于{zone.name}，须先申请加入并经运营方审核通过")
        if zone.sandbox_only_personal and has_personal and mode != "sandbox":
            raise ZoneRule(f"{zone.name}规定：含个人信息的数据只能以隐私计算沙箱方式使用（mode=sandbox）")
