"""Build the synthetic Qingdao demo city into the metadata database.

``build`` is deterministic (same seed, same content: codes, names, titles, fields, times; only
password hashes and random index stamps differ) and idempotent: a second run finds the city and
returns at once; a partial city (e.g. entries deleted) is completed without duplicating anything.
It never commits: the caller's single transaction (``session_scope``) makes a build all or nothing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from pubdata.authz import SYSTEM, Actor
from pubdata.catalog import bulk, vocab
from pubdata.catalog import service as catalog
from pubdata.demo import catalogue, entries, names
from pubdata.demo.names import OrgSpec
from pubdata.identity import service as identity
from pubdata.identity.errors import OrganisationNotFound, UserNotFound
from pubdata.identity.schemas import OrganisationCreate, UserCreate
from pubdata.policy.applications import reviewers

if TYPE_CHECKING:
    from pubdata.identity.models import Organisation

DEFAULT_SEED = 20230306
DEMO_PASSWORD = "Pubdata@Qingdao2023"
ENTERPRISES = 300


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    organisation: str
    role: str


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "平台管理员", names.OPERATOR_CODE, "admin"),
    DemoUser("operator", "华通智研院运营专员", names.OPERATOR_CODE, "operator"),
    DemoUser("finance", "华通智研院财务结算专员", names.OPERATOR_CODE, "finance"),
    DemoUser("scjgj", "市场监管局数据专员", "qd-scjgj", "department"),
    DemoUser("snswj", "市南区商务局审核员", "sn-swj", "department"),
    DemoUser("lsswj", "崂山区商务局审核员", "ls-swj", "department"),
    DemoUser("enterprise", "海岸线跨境电商业务员", names.DEMO_ENTERPRISE_CODE, "enterprise"),
    DemoUser("bank", "青岛银行客户经理", "bank-qdbank", "bank"),
    DemoUser("merchant", "数智港数据产品经理", "merchant-shuzhi", "data_merchant"),
    DemoUser("appraiser", "天和评估师", "appraisal-tianhe", "appraiser"),
    DemoUser("trustee", "海晟信托业务经理", "trust-haisheng", "trustee"),
    DemoUser("regulator", "大数据局监管员", names.REGULATOR_CODE, "regulator"),
)

Progress = Callable[[str], Any]


# --- organisations ---------------------------------------------------------------------------


def government() -> list[OrgSpec]:
    """The regulator's fellow departments: city bureaus and the ten district commerce bureaus."""
    out = []
    for code, name, what in names.CITY_DEPARTMENTS:
        out.append(OrgSpec(code, name, "department", None, f"职责数据：{what}。", names.fixed_uscc(code, "11")))
    for district, code in names.DISTRICT_COMMERCE_CODES.items():
        out.append(
            OrgSpec(
                code,
                names.district_commerce_name(district),
                "department",
                district,
                f"{district}商务主管部门：受理本区（市）企业的跨境电商政策奖励申请。",
                names.fixed_uscc(code, "11", names.DIVISION[district]),
            )
        )
    return out


def fixed_parties() -> list[OrgSpec]:
    out = []
    for spec in names.FIXED_PARTIES:
        prefix = "11" if spec.kind == "regulator" else "91"
        division = names.DIVISION.get(spec.district or "", names.QINGDAO)
        out.append(
            OrgSpec(
                spec.code,
                spec.name,
                spec.kind,
                spec.district,
                spec.description,
                names.fixed_uscc(spec.code, prefix, division),
            )
        )
    out.append(trust_company())
    return out


def trust_company() -> OrgSpec:
    """The demo city's licensed trust company (信托公司): the trustee of the demo data trust (demo/trusts.py)."""
    return OrgSpec(
        "trust-haisheng",
        "海晟信托有限责任公司",
        "trust_company",
        "市南区",
        "经国家金融监督管理总局批准设立的信托公司，开展数据资产服务信托业务。",
        names.fixed_uscc("trust-haisheng", "91", names.DIVISION["市南区"]),
    )


def demo_enterprise() -> OrgSpec:
    return OrgSpec(
        names.DEMO_ENTERPRISE_CODE,
        "青岛海岸线跨境电子商务有限公司",
        "enterprise",
        "市南区",
        "所属行业：互联网零售（F5292）；注册地：市南区。开设出口独立站，获评省级重点培育跨境电商平台。",
        names.fixed_uscc("haianxian", "91", names.DIVISION["市南区"]),
    )


def enterprises(seed: int, count: int = ENTERPRISES) -> list[OrgSpec]:
    """``count`` enterprises (the demo enterprise first) with plausible names and valid codes:
    mostly companies (91…), some farmers' co-operatives (93…) and village collectives (N2…)."""
    rng = random.Random(f"enterprises:{seed}")
    first = demo_enterprise()
    taken_names = {first.name} | {s.name for s in names.FIXED_PARTIES}
    taken_codes = {first.uscc}
    out = [first]
    districts = list(names.ENTERPRISE_DISTRICT_WEIGHTS)
    weights = list(names.ENTERPRISE_DISTRICT_WEIGHTS.values())
    rural = list(names.RURAL_PLACES)
    n_coops = n_collectives = max(1, count // 40)
    while len(out) < count:
        kind_left = count - len(out)
        if kind_left <= n_collectives:
            district = rng.choice(rural)
            town = rng.choice(names.RURAL_PLACES[district])
            name = f"{_place_prefix(district)}{town}{rng.choice(names.VILLAGES)}村股份经济合作社"
            code = names.uscc(rng, "N2", names.DIVISION[district], "MF")
            what = "村级集体经济组织"
        elif kind_left <= n_collectives + n_coops:
            district = rng.choice(rural)
            name = (
                f"{_place_prefix(district)}{rng.choice(names.RURAL_PLACES[district])}"
                f"{rng.choice(names.VILLAGES)}{rng.choice(names.COOP_PRODUCTS)}专业合作社"
            )
            code = names.uscc(rng, "93", names.DIVISION[district], "MA")
            what = "农民专业合作社"
        else:
            district = rng.choices(districts, weights)[0]
            trade = rng.choice(names.TRADE_NAMES)
            part, label, gb = rng.choice(names.INDUSTRIES)
            form = rng.choice(names.COMPANY_FORMS)
            name = rng.choices(
                (f"青岛{trade}{part}{form}", f"{trade}（青岛）{part}{form}", f"山东{trade}{part}{form}"), (80, 12, 8)
            )[0]
            code = names.uscc(rng, "91", names.DIVISION[district], rng.choice(("MA", "MA", "MA", "old")))
            what = f"{label}（{gb}）"
        if name in taken_names or code in taken_codes:
            continue
        taken_names.add(name)
        taken_codes.add(code)
        out.append(
            OrgSpec(
                f"ent-{code.lower()}", name, "enterprise", district, f"所属行业：{what}；注册地：{district}。", code
            )
        )
    return out


def _place_prefix(district: str) -> str:
    return district if district.endswith("市") else f"青岛市{district}"


# --- build -----------------------------------------------------------------------------------


def _summary(session: Session, seconds: float, reused: bool) -> dict[str, Any]:
    orgs = identity.organisation_kind_counts(session, SYSTEM)
    return {
        "organisations": sum(orgs.values()),
        "organisations_by_kind": orgs,
        "users": len(DEMO_USERS),
        "entries": _entry_count(session),
        "demo_users": [u.username for u in DEMO_USERS],
        "password": DEMO_PASSWORD,
        "reused": reused,
        "seconds": round(seconds, 2),
    }


def _entry_count(session: Session) -> int:
    return int(catalog.catalogue_stats(session, SYSTEM)["entries"])


def _complete(session: Session) -> bool:
    try:
        identity.get_organisation(session, SYSTEM, names.OPERATOR_CODE)
        for user in DEMO_USERS:
            identity.get_user(session, user.username)
    except (OrganisationNotFound, UserNotFound):
        return False
    return _entry_count(session) >= catalogue.TOTAL_ENTRIES


def _ensure_orgs(session: Session, specs: list[OrgSpec], seed: int) -> int:
    existing = {o.code for o in identity.list_organisations(session, SYSTEM)}
    launch = entries.epoch(seed)
    created = 0
    for i, spec in enumerate(specs):
        if spec.code in existing:
            continue
        org = identity.create_organisation(
            session,
            SYSTEM,
            OrganisationCreate(
                code=spec.code,
                name=spec.name,
                kind=spec.kind,  # type: ignore[arg-type]
                uscc=spec.uscc,
                district=spec.district,
                description=spec.description,
            ),
        )
        org.created_at = launch - timedelta(days=500, minutes=i)  # fixed, not the wall clock
        created += 1
    session.flush()
    return created


def _ensure_users(session: Session, seed: int) -> Actor:
    launch = entries.epoch(seed)
    operator_user = None
    for i, u in enumerate(DEMO_USERS):
        try:
            user = identity.get_user(session, u.username)
        except UserNotFound:
            user = identity.create_user(
                session,
                SYSTEM,
                UserCreate(
                    username=u.username,
                    display_name=u.display_name,
                    password=DEMO_PASSWORD,
                    organisation_code=u.organisation,
                    roles=[u.role],
                ),
            )
            user.created_at = launch - timedelta(days=450, minutes=i)
        if u.username == "operator":
            operator_user = user
    session.flush()
    assert operator_user is not None
    return identity.actor_for(operator_user, via="cli")


def _ensure_reviewers(session: Session) -> int:
    """Route each district's policy applications: commerce to the district's commerce bureau
    (政策通), the other duties to the city bureau of ``names.CITY_WIDE_REVIEWERS`` — where not yet
    routed (the operator may have changed a route since: it is kept)."""
    wanted = {("commerce", district): code for district, code in names.DISTRICT_COMMERCE_CODES.items()}
    for duty, code in names.CITY_WIDE_REVIEWERS.items():
        wanted.update({(duty, district): code for district in names.DISTRICT_COMMERCE_CODES})
    routed = {(r.duty, r.district) for r in reviewers.list_reviewers(session, SYSTEM)}
    made = 0
    for (duty, district), code in wanted.items():
        if (duty, district) not in routed:
            reviewers.set_reviewer(session, SYSTEM, district, code, duty=duty)
            made += 1
    return made


def build(session: Session, *, seed: int = DEFAULT_SEED, progress: Progress = print) -> dict[str, Any]:
    """Build (or reuse) the demo city in ``session``'s transaction and return a summary:
    organisations, users, entries, demo_users (usernames; the password is ``DEMO_PASSWORD``)."""
    started = time.perf_counter()
    if _complete(session):
        progress("示范城市已存在，直接复用")
        _ensure_reviewers(session)
        return _summary(session, time.perf_counter() - started, reused=True)

    progress("创建政府部门、运营方、监管部门、银行、评估机构和数商……")
    n = _ensure_orgs(session, government() + fixed_parties(), seed)
    progress(f"  新建机构 {n} 个")
    progress(f"创建 {ENTERPRISES} 家企业（含统一社会信用代码）……")
    n = _ensure_orgs(session, enterprises(seed), seed)
    progress(f"  新建企业 {n} 家")
    progress("创建演示账号……")
    operator = _ensure_users(session, seed)
    _ensure_reviewers(session)

    progress(f"生成 {catalogue.TOTAL_ENTRIES} 条数据目录（{len(vocab.CATEGORIES)} 个类别）……")
    items, times = entries.compose(seed)
    step = {"next": 0}

    def report(done: int, total: int) -> None:
        if done * 10 >= step["next"] * total or done == total:
            progress(f"  写入数据目录 {done}/{total}")
            step["next"] = done * 10 // max(total, 1) + 1

    n = bulk.import_entries(session, operator, items, timestamps=times, skip_existing=True, progress=report)
    session.flush()
    progress(f"  新建数据目录 {n} 条")
    return _summary(session, time.perf_counter() - started, reused=False)


def organisation_of(session: Session, code: str) -> Organisation:
    """An organisation of the demo city by code (for tests and later demo steps)."""
    return identity.get_organisation(session, SYSTEM, code)
