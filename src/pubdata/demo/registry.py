"""The demo city's data-asset registrations (确权登记), so the registry's pages have something to show
from the start: the market supervision bureau's 经营异常名录 registered with its certificate (its
review and public notice replayed as having ended), the data merchant's processing right over the open
scenic-spot list in public notice with an enterprise's objection waiting for the registrar, and the
bureau's 行政处罚信息 waiting to be accepted. The registrar is the operator's staff (never the
applicant). Idempotent: a table that already has a registration is left as it is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import duckdb
from sqlalchemy.orm import Session

from pubdata.access.service import beijing_today
from pubdata.assets.registry import service as registry
from pubdata.assets.registry.schemas import FormalReviewIn, RegistrationIn, SourceIn
from pubdata.authz import SYSTEM, Actor
from pubdata.catalog import service as catalog
from pubdata.identity import service as identity

NOTICE_DAYS = 10


@dataclass(frozen=True)
class DemoRegistration:
    applicant: str  # a key of ``actors``
    anchor: str  # the demo anchor entry whose records table is registered
    basis: str  # own | open
    goal: str  # registered | public_notice | submitted
    fields: dict  # RegistrationIn fields without holder, sources and resource


REGISTRATIONS: tuple[DemoRegistration, ...] = (
    DemoRegistration(
        "department", "abnormal_operations", "own", "registered",
        {"title": "青岛市经营异常名录数据资源", "description": "被列入经营异常名录的企业及移出情况，按日更新。",
         "rights": ["holding", "processing"], "update_frequency": "每日", "coverage": "青岛市全市市场主体",
         "scenario": "shipping_trade_finance", "classification": "general"},
    ),
    DemoRegistration(
        "merchant", "scenic_spots", "open", "public_notice",
        {"title": "青岛市A级旅游景区名录（加工整理）", "description": "基于无条件开放的景区名录加工整理，"
                        "补充坐标校验与开放时间规范化。",
         "rights": ["processing"], "update_frequency": "每季度", "coverage": "青岛市A级旅游景区",
         "scenario": "culture_tourism", "classification": "general"},
    ),
    DemoRegistration(
        "department", "penalties", "own", "submitted",
        {"title": "青岛市行政处罚信息数据资源", "description": "对企业作出的行政处罚决定（双公示）。",
         "rights": ["holding"], "update_frequency": "每日", "coverage": "青岛市全市市场主体",
         "scenario": "shipping_trade_finance", "classification": "general"},
    ),
)  # fmt: skip
OBJECTION = "该名录中部分景区的开放时间由本企业实地采集整理并已对外提供，申请人主张的加工使用权范围应予明确。"


def apply(
    session: Session, actors: dict[str, Actor], resource_of: dict[str, str | None], *, home: Path | None = None
) -> list[str]:
    """Make the demo registrations not there yet (``actors``: department, merchant, enterprise,
    registrar; ``resource_of``: anchor → its records table's resource id, None while not loaded);
    the registration codes of the demo city's registered registrations."""
    registrar = actors["registrar"]
    today = beijing_today()
    taken = {r.resource_id for r in registry.list_registrations(session, registrar)}
    for spec in REGISTRATIONS:
        rid = resource_of.get(spec.anchor)
        if rid is None or rid in taken:
            continue
        applicant = actors[spec.applicant]
        org = identity.own_organisation(session, applicant)
        assert org is not None and org.uscc, "the demo's applicants are organisations with a USCC"
        entry = catalog.get_resource(session, SYSTEM, rid).entry.code
        data = RegistrationIn(
            resource_id=rid,
            holder_name=org.name,
            holder_uscc=org.uscc,
            sources=[SourceIn(entry=entry, basis=spec.basis)],
            **spec.fields,
        )  # type: ignore[arg-type]
        try:  # the version is read (fingerprinted) before anything is written
            made = registry.apply(session, applicant, data, home=home)
        except duckdb.Error:  # the table's files are not under this home (a demo built elsewhere)
            continue
        if spec.goal == "submitted":
            continue
        registry.accept(session, registrar, made.id, reason="材料齐全，予以受理")
        if spec.goal == "registered":
            reviewed = today - timedelta(days=NOTICE_DAYS + 10)
            passed = FormalReviewIn(action="pass", reason="形式审核通过", notice_days=NOTICE_DAYS)
            registry.formal_review(session, registrar, made.id, passed, on=reviewed)
            registry.register(session, registrar, made.id, on=reviewed + timedelta(days=NOTICE_DAYS + 1))
        else:
            passed = FormalReviewIn(action="pass", reason="形式审核通过", notice_days=NOTICE_DAYS)
            registry.formal_review(session, registrar, made.id, passed)
            registry.file_objection(session, actors["enterprise"], made.id, OBJECTION)
    return sorted(r.code for r in registry.list_registrations(session, registrar, state="registered") if r.code)
