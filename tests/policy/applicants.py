"""Builders for the application tests (service, API, portal, browser): an enterprise's facts-table
row written straight to a facts version, the district commerce bureaus as reviewers, and the cast of
an application — an enterprise registered in 崂山区, its district's bureau, another district's bureau,
the operator and the regulator."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pubdata.authz import SYSTEM, Actor
from pubdata.enterprise import files
from pubdata.enterprise.facts import FACTS
from pubdata.enterprise.models import EnterpriseFactsVersion
from pubdata.policy.applications import reviewers
from tests import builders

PACK = "qingdao-cbec-2023"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64

# A 崂山区 provincial key platform of 2022 with 6,000万 of cross-border imports and exports: the
# key_platform clause gives at most 50万 (the tier 达到5000万), including the 10万 base.
PLATFORM_FACTS: dict[str, Any] = {
    "registered_district": "崂山区",
    "provincial_key_platform_2022": True,
    "cbec_import_export_amount": 60_000_000,
    "cbec_export_amount": 25_000_000,
    "has_independent_site": True,
    "independent_site_investment": 120_000,
}


def write_facts(session: Session, home: Path, rows: list[dict[str, Any]], *, year: int = 2022) -> int:
    """A new facts version holding ``rows`` (uscc, name and any facts; the rest null), as a build
    would publish it; its number."""
    number = (session.scalar(select(func.max(EnterpriseFactsVersion.number))) or 0) + 1
    target = files.facts_file(home, number)
    target.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        columns = ", ".join(f'"{f.name}" {f.duckdb_type}' for f in FACTS.values())
        con.execute(f"CREATE TABLE facts ({columns})")
        for row in rows:
            names = list(row)
            con.execute(
                f"INSERT INTO facts ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
                [row[n] for n in names],
            )
        con.execute(f"COPY facts TO '{target}' (FORMAT parquet)")
    finally:
        con.close()
    session.add(EnterpriseFactsVersion(number=number, year=year, enterprises=len(rows), sources={}, built_via="cli"))
    session.flush()
    return number


def route_districts(session: Session, bureaus: dict[str, str]) -> None:
    """Name the commerce bureau (organisation code) of each district."""
    for district, code in bureaus.items():
        reviewers.set_reviewer(session, SYSTEM, district, code)


@dataclass
class Cast:
    enterprise: Actor
    enterprise_org: Any
    laoshan: Actor  # the reviewer of the enterprise's district (崂山区商务局)
    laoshan_org: Any
    shinan: Actor  # another district's commerce bureau (市南区商务局)
    shinan_org: Any
    operator: Actor
    regulator: Actor
    bank: Actor
    other_department: Actor  # a city department that reviews nothing
    other_enterprise: Actor


def make_cast(session: Session, home: Path, *, facts: dict[str, Any] | None = PLATFORM_FACTS) -> Cast:
    def person(org: Any, role: str, **extra: Any) -> Actor:
        return builders.actor_of(builders.make_user(session, org, roles=[role], **extra))

    ent_org = builders.make_org(session, "enterprise", name="青岛测试跨境电商有限公司", district="崂山区")
    ls_org = builders.make_org(session, "department", name="测试崂山区商务局", district="崂山区")
    sn_org = builders.make_org(session, "department", name="测试市南区商务局", district="市南区")
    route_districts(session, {"崂山区": ls_org.code, "市南区": sn_org.code})
    other_ent = builders.make_org(session, "enterprise", name="青岛另一家企业有限公司", district="崂山区")
    if facts is not None:
        write_facts(session, home, [{"uscc": ent_org.uscc, "name": ent_org.name, **facts}])
    return Cast(
        enterprise=person(ent_org, "enterprise"),
        enterprise_org=ent_org,
        laoshan=person(ls_org, "department"),
        laoshan_org=ls_org,
        shinan=person(sn_org, "department"),
        shinan_org=sn_org,
        operator=person(builders.make_org(session, "operator"), "operator"),
        regulator=person(builders.make_org(session, "regulator"), "regulator"),
        bank=person(builders.make_org(session, "bank"), "bank"),
        other_department=person(builders.make_org(session, "department"), "department"),
        other_enterprise=person(other_ent, "enterprise"),
    )
