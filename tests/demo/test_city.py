"""The demo city: built once per module into its own database (two for determinism), then checked."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from pubdata.authz import ANONYMOUS, Role
from pubdata.catalog import service as catalog
from pubdata.catalog.models import CatalogEntry, CatalogResource, EntryField, EntryTag
from pubdata.catalog.service import SearchQuery
from pubdata.db import session_scope
from pubdata.demo import catalogue, city, names
from pubdata.identity import service as identity
from pubdata.identity.models import Organisation, User
from pubdata.standards import uscc_problem
from tests.conftest import fresh_engine

SEED = city.DEFAULT_SEED


def _build(engine: Engine, seed: int = SEED) -> dict[str, Any]:
    with session_scope(engine) as session:
        return city.build(session, seed=seed, progress=lambda _msg: None)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, dict[str, Any]]]:
    engine = fresh_engine(tmp_path_factory.mktemp("demo_a"), name="demo_a")
    summary = _build(engine)
    yield engine, summary
    engine.dispose()


@pytest.fixture(scope="module")
def db(built: tuple[Engine, dict[str, Any]]) -> Iterator[Session]:
    session = Session(built[0], expire_on_commit=False)
    yield session
    session.rollback()
    session.close()


def digest(session: Session) -> str:
    """Everything the demo city promises to reproduce, independent of database ids."""
    orgs = session.execute(
        select(
            Organisation.code,
            Organisation.name,
            Organisation.kind,
            Organisation.uscc,
            Organisation.district,
            Organisation.created_at,
        ).order_by(Organisation.code)
    ).all()
    org_code = {o.id: o.code for o in session.scalars(select(Organisation))}
    fields: dict[int, list[Any]] = {}
    for f in session.scalars(select(EntryField).order_by(EntryField.entry_id, EntryField.position)):
        fields.setdefault(f.entry_id, []).append([f.name, f.label, f.type, f.is_personal, f.personal_kind])
    tags: dict[int, list[str]] = {}
    for t in session.scalars(select(EntryTag).order_by(EntryTag.entry_id, EntryTag.tag)):
        tags.setdefault(t.entry_id, []).append(t.tag)
    resources = {r.entry_id: r.id for r in session.scalars(select(CatalogResource))}
    rows = []
    for e in session.scalars(select(CatalogEntry).order_by(CatalogEntry.code)):
        rows.append(
            [
                e.code,
                e.name,
                e.title,
                e.description,
                org_code[e.organisation_id],
                e.category,
                e.open_type,
                e.security_grade,
                e.update_frequency,
                e.district,
                str(e.temporal_start),
                str(e.temporal_end),
                e.licence,
                e.contact_email,
                e.created_at.isoformat(),
                fields.get(e.id),
                tags.get(e.id),
                resources[e.id],
            ]
        )
    blob = json.dumps([[list(map(str, o)) for o in orgs], rows], ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def test_exactly_5099_entries_in_all_19_categories(db: Session, built: tuple[Engine, dict[str, Any]]) -> None:
    assert built[1]["entries"] == 5099
    stats = catalog.catalogue_stats(db, ANONYMOUS)
    assert stats["entries"] == 5099
    by_category = {c["value"]: c["count"] for c in stats["by_category"]}
    assert len(by_category) == 19
    # the largest categories of the source platform lead
    assert {"business", "credit", "medical", "social_security"} == set(sorted(by_category, key=by_category.get)[-4:])
    assert len(db.scalars(select(CatalogEntry.title)).all()) == len(set(db.scalars(select(CatalogEntry.title))))


def test_about_forty_departments_including_ten_district_commerce_bureaus(db: Session) -> None:
    departments = identity.list_organisations(db, ANONYMOUS, kind="department")
    assert 35 <= len(departments) <= 50
    by_code = {d.code: d for d in departments}
    assert by_code["qd-scjgj"].name == "青岛市市场监督管理局"
    commerce = [d for d in departments if d.name.endswith("商务局") and d.district]
    assert sorted(d.district for d in commerce) == sorted(names.DIVISION)
    assert by_code["sn-swj"].name == "青岛市市南区商务局"
    kinds = identity.organisation_kind_counts(db, ANONYMOUS)
    assert kinds["operator"] == 1 and kinds["regulator"] == 1 and kinds["appraisal_agency"] == 1
    assert kinds["bank"] >= 5 and 2 <= kinds["data_merchant"] <= 3 and kinds["enterprise"] == city.ENTERPRISES
    operator = identity.get_organisation(db, ANONYMOUS, names.OPERATOR_CODE)
    assert operator.name == "华通智能科技研究院有限公司" and uscc_problem(operator.uscc or "") is None


def test_every_enterprise_has_a_valid_code_some_starting_with_a_letter(db: Session) -> None:
    enterprises = identity.list_organisations(db, ANONYMOUS, kind="enterprise")
    codes = [e.uscc or "" for e in enterprises]
    assert [c for c in codes if uscc_problem(c)] == []
    assert any(c[0].isalpha() for c in codes)  # village collectives, N2…
    assert any(c.startswith("93") for c in codes)  # farmers' co-operatives
    assert sum(c.startswith("91") for c in codes) > 0.9 * len(codes)
    divisions = {d.code for d in names.vocab.DISTRICTS}
    assert all(c[2:8] in divisions for c in codes)
    assert all(e.district in names.DIVISION for e in enterprises)
    assert any("跨境电子商务" in e.name for e in enterprises)


def test_entries_with_personal_information_are_never_open_unconditionally(db: Session) -> None:
    personal = select(EntryField.entry_id).where(EntryField.is_personal.is_(True))
    open_types = dict(
        db.execute(
            select(CatalogEntry.open_type, func.count())
            .where(CatalogEntry.id.in_(personal))
            .group_by(CatalogEntry.open_type)
        ).all()
    )
    assert open_types.get("unconditional", 0) == 0
    assert open_types["conditional"] > 0 and open_types["closed"] > 0
    totals = dict(db.execute(select(CatalogEntry.open_type, func.count()).group_by(CatalogEntry.open_type)).all())
    assert totals["unconditional"] > totals["conditional"] > totals["closed"] > 0
    widths = db.execute(select(func.count()).select_from(EntryField).group_by(EntryField.entry_id)).scalars().all()
    assert len(widths) == 5099 and min(widths) >= 5 and max(widths) <= 15


def test_anchor_entries_have_their_fixed_codes(db: Session) -> None:
    registry = catalog.get_entry(db, ANONYMOUS, catalogue.ANCHOR_CODES["enterprise_registry"])
    assert registry.title == "青岛市市场主体登记信息"
    assert registry.organisation.code == "qd-scjgj" and registry.open_type == "unconditional"
    assert {"uscc", "ent_name", "district", "industry_code", "reg_capital", "found_date", "status"} <= {
        f.name for f in registry.fields
    }
    assert [r.name for r in registry.resources] == [registry.title]
    for code in catalogue.ANCHOR_CODES.values():
        assert catalog.get_entry(db, ANONYMOUS, code).code == code


def test_a_demo_user_for_every_role_can_log_in(db: Session) -> None:
    roles: set[str] = set()
    for demo in city.DEMO_USERS:
        user = identity.authenticate(db, demo.username, city.DEMO_PASSWORD)
        assert user.organisation is not None and user.organisation.code == demo.organisation
        roles.update(user.role_list)
    assert roles == {r.value for r in Role}
    department_orgs = {u.organisation for u in city.DEMO_USERS if u.role == "department"}
    assert department_orgs == {"qd-scjgj", "sn-swj", "ls-swj"}
    # each district's policy applications go to its own commerce bureau
    from pubdata.policy.applications import reviewers

    routes = {r.district: r.organisation_code for r in reviewers.list_reviewers(db, ANONYMOUS, duty="commerce")}
    assert routes == names.DISTRICT_COMMERCE_CODES
    # the loan-related packs' 科技 duty goes to the city's science-and-technology bureau, in every district
    tech = {r.district: r.organisation_code for r in reviewers.list_reviewers(db, ANONYMOUS, duty="tech")}
    assert tech == dict.fromkeys(names.DISTRICT_COMMERCE_CODES, "qd-kjj")


def test_chinese_search_finds_medical_and_credit_entries(db: Session) -> None:
    medical = catalog.search_entries(db, ANONYMOUS, SearchQuery(q="医疗", limit=10))
    assert medical.count >= 50
    assert all("医疗" in e.title for e in medical.entries[:5])
    credit = catalog.search_entries(db, ANONYMOUS, SearchQuery(q="企业信用", limit=10))
    assert credit.count > 0
    assert all("企业信用" in e.title or "企业信用" in e.tag_names for e in credit.entries)
    assert any("企业信用综合评价结果" in e.title for e in credit.entries)
    cbec = catalog.search_entries(db, ANONYMOUS, SearchQuery(q="跨境电商", filters={"district": ["市南区"]}))
    assert any(e.organisation.code == "sn-swj" for e in cbec.entries)


def test_same_seed_same_city_and_a_crashed_build_leaves_nothing(
    built: tuple[Engine, dict[str, Any]], db: Session, tmp_path_factory: pytest.TempPathFactory
) -> None:
    engine = fresh_engine(tmp_path_factory.mktemp("demo_b"), name="demo_b")
    try:

        class Crash(Exception):
            pass

        def crash(msg: str) -> None:
            if "写入数据目录" in msg:
                raise Crash(msg)

        with pytest.raises(Crash), session_scope(engine) as session:
            city.build(session, seed=SEED, progress=crash)
        with Session(engine) as session:  # one transaction: nothing of the half-built city remains
            assert session.scalar(select(func.count()).select_from(Organisation)) == 0
            assert session.scalar(select(func.count()).select_from(CatalogEntry)) == 0

        summary = _build(engine)
        assert summary["entries"] == 5099 and not summary["reused"]
        with Session(engine) as session:
            assert digest(session) == digest(db)
    finally:
        engine.dispose()


def test_a_second_build_reuses_the_city_and_a_damaged_one_is_completed(built: tuple[Engine, dict[str, Any]]) -> None:
    engine, first = built

    def counts() -> dict[str, int]:
        with Session(engine) as s:
            return {
                m.__name__: s.scalar(select(func.count()).select_from(m)) or 0
                for m in (Organisation, User, CatalogEntry, EntryField, EntryTag, CatalogResource)
            }

    before = counts()
    again = _build(engine)
    assert again["reused"] and again["entries"] == first["entries"] == 5099
    assert again["organisations"] == first["organisations"]
    assert counts() == before

    with session_scope(engine) as s:  # lose some entries and an enterprise
        for e in s.scalars(select(CatalogEntry).order_by(CatalogEntry.code).limit(7)):
            s.delete(e)
        victim = s.scalars(
            select(Organisation).where(Organisation.kind == "enterprise").order_by(Organisation.code.desc()).limit(1)
        ).one()
        s.delete(victim)
    repaired = _build(engine)
    assert not repaired["reused"] and repaired["entries"] == 5099
    assert counts() == before
