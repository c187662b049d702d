"""Bulk matching over a small facts table: results stored per run and in ``policy_match``, notices
once per newly eligible pair (not again on a rerun, again when the amount changes, not on a pack
re-version that changes nothing for the enterprise), the inbox, reach and the list of matches,
and who may do what."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import func, select

from pubdata.authz import SYSTEM
from pubdata.db import utcnow
from pubdata.enterprise.errors import FactsNotBuilt
from pubdata.errors import Forbidden, Invalid, NotFound, PubdataError
from pubdata.policy import service
from pubdata.policy.matching import match, notices, reach
from pubdata.policy.models import PolicyMatch, PolicyNotice, PolicyPackVersion
from pubdata.policy.packs.pack import PACKS_DIR, compile_pack
from tests.builders import make_org, make_user
from tests.policy.facts_builder import PACK, code, publish_facts

E1, E2, E3, E4, E5 = (code(n) for n in range(1, 6))


def city() -> list[dict]:
    """E1: site (3000万 exports, 30万 invested) and key platform (6000万) → 10万 and up to 50万.
    E2: exports exactly 2000万 (not 超过) with a site, and a public overseas warehouse → 10万 base.
    E3: public warehouse 12 months, trade exactly 20亿 → eligible, amount assessed.
    E4: key platform but no known district → undecided. E5: nothing."""
    return [
        {"uscc": E1, "name": "青岛甲跨境电商有限公司", "registered_district": "市南区", "has_independent_site": True,
         "cbec_export_amount": 30_000_000, "independent_site_investment": 300_000,
         "provincial_key_platform_2022": True, "cbec_import_export_amount": 60_000_000},
        {"uscc": E2, "name": "青岛乙贸易有限公司", "registered_district": "黄岛区", "has_independent_site": True,
         "cbec_export_amount": 20_000_000, "independent_site_investment": 500_000,
         "provincial_key_overseas_warehouse_2022": True},
        {"uscc": E3, "name": "青岛丙仓储有限公司", "registered_district": "胶州市",
         "public_warehouse_operating_months": 12, "public_warehouse_trade_amount": 2_000_000_000},
        {"uscc": E4, "name": "青岛丁平台有限公司", "registered_district": None,
         "provincial_key_platform_2022": True, "cbec_import_export_amount": 40_000_000},
        {"uscc": E5, "name": "青岛戊科技有限公司", "registered_district": "崂山区"},
    ]  # fmt: skip


def enterprise_actor(session, uscc):  # type: ignore[no-untyped-def]
    from tests.builders import actor_of

    org = make_org(session, "enterprise", uscc=uscc)
    return actor_of(make_user(session, org, roles=["enterprise"]))


def pairs(session) -> dict[tuple[str, str], tuple]:  # type: ignore[no-untyped-def]
    rows = session.execute(
        select(
            PolicyMatch.uscc, PolicyMatch.clause_id, PolicyMatch.eligible, PolicyMatch.amount, PolicyMatch.amount_kind
        )
        .join(PolicyPackVersion, PolicyPackVersion.id == PolicyMatch.pack_version_id)
        .where(PolicyPackVersion.pack_id == PACK)
    ).all()
    return {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}


def notice_count(session) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(PolicyNotice).where(PolicyNotice.pack_id == PACK))


def test_match_stores_every_result_and_keeps_what_is_not_a_plain_no(session, tmp_path: Path):
    publish_facts(session, tmp_path, city())
    run = match.match_pack(session, SYSTEM, PACK, home=tmp_path)
    assert run.state == "done" and not run.reused
    assert run.enterprises == 5
    assert run.eligible == 4 and run.undecided == 1
    assert run.total_amount == 100_000 + 500_000 + 100_000  # E1 site + E1 platform cap + E2 warehouse base
    assert pairs(session) == {
        (E1, "independent_site"): (True, 100_000, "formula"),
        (E1, "key_platform"): (True, 500_000, "up_to"),
        (E2, "overseas_warehouse"): (True, 100_000, "fixed"),
        (E3, "public_warehouse"): (True, None, "assessed"),
        (E4, "key_platform"): (None, None, "up_to"),
    }
    # the results file holds every enterprise × clause, including the plain "no"s
    results = match.results_file(tmp_path, run.id)
    rows = duckdb.sql(f"SELECT enterprise, clause, eligible FROM read_parquet('{results}')").fetchall()
    assert len(rows) == 25
    assert (E2, "independent_site", False) in rows  # exactly 2000万 is not 超过2000万
    assert not list(results.parent.glob(".staging-*"))


def test_notices_once_and_not_again_on_a_rerun(session, tmp_path: Path):
    actor = enterprise_actor(session, E1)
    publish_facts(session, tmp_path, city())
    first = match.match_pack(session, SYSTEM, PACK, home=tmp_path)
    assert first.newly_eligible == 4 == notice_count(session)
    again = match.match_pack(session, SYSTEM, PACK, home=tmp_path)
    assert again.reused and again.id == first.id
    forced = match.match_pack(session, SYSTEM, PACK, home=tmp_path, force=True)
    assert not forced.reused and forced.id != first.id
    assert forced.newly_eligible == 0 and notice_count(session) == 4

    inbox = notices.list_notices(session, actor)
    assert {n.clause_id for n in inbox} == {"independent_site", "key_platform"}
    platform = next(n for n in inbox if n.clause_id == "key_platform")
    assert platform.amount_text == "最高50万元"
    assert "最高不超过50万元（含基础奖励10万元）" in platform.body
    assert platform.apply_url == f"/policies/{PACK}/apply/key_platform"
    site = next(n for n in inbox if n.clause_id == "independent_site")
    assert site.title == "您符合“支持跨境电商出口独立站建设”条件：10万元"
    assert "企业档案（2022年度，第 1 版）" in site.body
    warehouse = session.scalar(select(PolicyNotice).where(PolicyNotice.uscc == E3))
    assert warehouse.organisation_id is None and "金额待核定" in warehouse.title
    # rows written in bulk read back with the right times (the bulk path formats them as the ORM does)
    stored = session.scalar(select(PolicyMatch).where(PolicyMatch.uscc == E1).limit(1))
    for at in (warehouse.created_at, stored.first_matched_at, stored.updated_at):
        assert abs(at - utcnow()) < timedelta(minutes=10)


def test_a_changed_amount_notifies_again_and_no_longer_eligible_is_removed(session, tmp_path: Path):
    actor = enterprise_actor(session, E1)
    publish_facts(session, tmp_path, city())
    match.match_pack(session, SYSTEM, PACK, home=tmp_path)
    changed = city()
    changed[0]["independent_site_investment"] = 120_000  # 50% is 6万 now
    changed[1]["provincial_key_overseas_warehouse_2022"] = False  # E2 no longer qualifies
    changed[3]["registered_district"] = "李沧区"  # E4 decided now: 4000万 → up to 20万
    publish_facts(session, tmp_path, changed)
    run = match.match_pack(session, SYSTEM, PACK, home=tmp_path)
    assert run.facts_version == 2
    now = pairs(session)
    assert now[(E1, "independent_site")] == (True, 60_000, "formula")
    assert (E2, "overseas_warehouse") not in now
    assert now[(E4, "key_platform")] == (True, 200_000, "up_to")
    assert run.newly_eligible == 2  # E1's site (amount changed) and E4's platform (decided)
    inbox = notices.list_notices(session, actor)
    assert [n.clause_id for n in inbox][0] == "independent_site"  # newest first
    assert [n.amount for n in inbox if n.clause_id == "independent_site"] == [60_000, 100_000]


def test_a_new_pack_version_notifies_only_where_the_amount_changed(session, tmp_path: Path, monkeypatch):
    publish_facts(session, tmp_path, city())
    first = match.match_pack(session, SYSTEM, PACK, home=tmp_path)
    text = (PACKS_DIR / f"{PACK}.yaml").read_text(encoding="utf-8")
    text = text.replace("version: 1", "version: 2", 1).replace("cap: 50万", "cap: 60万", 1)
    text = text.replace("{from: 5000万, up_to: 50万}", "{from: 5000万, up_to: 60万}")
    revised = compile_pack(text)
    monkeypatch.setattr(service, "get_pack", lambda actor, pack_id: revised)
    run = match.match_pack(session, SYSTEM, PACK, home=tmp_path)
    assert run.pack_version == 2 and run.digest == revised.digest
    assert run.newly_eligible == 1  # only E1's platform: 50万 → 60万
    assert notice_count(session) == first.newly_eligible + 1
    versions = set(session.scalars(select(PolicyMatch.pack_version_id).distinct()))
    assert len(versions) == 1  # every row moved to the new version
    assert pairs(session)[(E1, "key_platform")] == (True, 600_000, "up_to")


def test_inbox_read_state_and_whose_notices(session, tmp_path: Path):
    mine = enterprise_actor(session, E1)
    other = enterprise_actor(session, E3)
    publish_facts(session, tmp_path, city())
    match.match_pack(session, SYSTEM, PACK, home=tmp_path)
    assert notices.unread_count(session, mine) == 2
    first = notices.list_notices(session, mine)[0]
    read = notices.mark_read(session, mine, first.id)
    assert read.read_at is not None
    assert notices.mark_read(session, mine, first.id).read_at == read.read_at  # keeps the first time
    assert notices.unread_count(session, mine) == 1
    assert [n.id for n in notices.list_notices(session, mine, unread_only=True)] != [first.id]
    with pytest.raises(NotFound):
        notices.mark_read(session, other, first.id)  # someone else's notice is not found
    with pytest.raises(NotFound):
        notices.get_notice(session, other, first.id)
    assert all(n.uscc == E3 for n in notices.list_notices(session, other))
    assert notices.mark_all_read(session, mine) == 1 and notices.unread_count(session, mine) == 0
    # an enterprise that signs up later sees the notice sent to its credit code
    late = enterprise_actor(session, E2)
    assert [n.clause_id for n in notices.list_notices(session, late)] == ["overseas_warehouse"]
    # someone without an organisation has no inbox
    assert notices.list_notices(session, SYSTEM) == [] and notices.unread_count(session, SYSTEM) == 0


def test_my_matches_lists_the_enterprises_clauses_eligible_first(session, tmp_path: Path):
    mine = enterprise_actor(session, E1)
    undecided = enterprise_actor(session, E4)
    publish_facts(session, tmp_path, city())
    match.match_pack(session, SYSTEM, PACK, home=tmp_path)
    rows = reach.my_matches(session, mine)
    assert [(r.clause_id, r.amount_text) for r in rows] == [
        ("key_platform", "最高50万元"),
        ("independent_site", "10万元"),
    ]
    assert rows[0].materials and rows[0].apply_url.endswith("/apply/key_platform")
    assert [(r.clause_id, r.eligible) for r in reach.my_matches(session, undecided)] == [("key_platform", None)]


def test_reach_by_clause_and_district(session, tmp_path: Path, as_actor):
    publish_facts(session, tmp_path, city())
    department = as_actor("department")
    empty = reach.reach(session, department, PACK, home=tmp_path)
    assert empty.run is None and all(c.eligible == 0 for c in empty.clauses)
    match.match_pack(session, SYSTEM, PACK, home=tmp_path)
    for who in ("department", "operator", "regulator"):
        result = reach.reach(session, as_actor(who), PACK, home=tmp_path)
        assert result.run is not None and result.enterprises == 5
    by = {c.clause_id: c for c in result.clauses}
    assert [c.clause_id for c in result.clauses] == ["independent_site", "key_platform", "key_park",
                                                     "overseas_warehouse", "public_warehouse"]  # fmt: skip
    assert (by["key_platform"].eligible, by["key_platform"].undecided, by["key_platform"].up_to) == (1, 1, 500_000)
    assert by["independent_site"].amount == 100_000 and by["independent_site"].up_to == 0
    assert by["public_warehouse"].pending == 1 and by["public_warehouse"].amount == 0
    districts = {d.district: d for d in by["key_platform"].by_district}
    assert districts["市南区"].eligible == 1 and districts["未知"].undecided == 1
    assert len(by["key_park"].by_district) == 10  # every district, even with nobody
    assert result.eligible_enterprises == 3 and result.amount == 200_000 and result.up_to == 500_000
    for who in ("enterprise", "bank", "anonymous"):
        with pytest.raises(PubdataError) as refused:
            reach.reach(session, as_actor(who), PACK, home=tmp_path)
        assert refused.value.status in (401, 403)


def test_list_matches_pages_and_filters(session, tmp_path: Path, as_actor):
    publish_facts(session, tmp_path, city())
    match.match_pack(session, SYSTEM, PACK, home=tmp_path)
    department = as_actor("department")
    page = reach.list_matches(session, department, PACK, home=tmp_path)
    assert page.total == 5 and [i.clause_id for i in page.items][:2] == ["independent_site", "key_platform"]
    platform = reach.list_matches(session, department, PACK, home=tmp_path, clause="key_platform")
    assert {(i.uscc, i.eligible) for i in platform.items} == {(E1, True), (E4, None)}
    assert platform.items[0].name == "青岛甲跨境电商有限公司" and platform.items[0].district == "市南区"
    assert reach.list_matches(session, department, PACK, home=tmp_path, district="胶州市").items[0].uscc == E3
    assert reach.list_matches(session, department, PACK, home=tmp_path, district="未知").total == 1
    assert reach.list_matches(session, department, PACK, home=tmp_path, eligible=False).total == 1
    second = reach.list_matches(session, department, PACK, home=tmp_path, offset=4, limit=2)
    assert second.total == 5 and len(second.items) == 1
    with pytest.raises(Invalid):
        reach.list_matches(session, department, PACK, home=tmp_path, district="北京市")
    with pytest.raises(NotFound):
        reach.list_matches(session, department, PACK, home=tmp_path, clause="nothing")
    for who in ("regulator", "enterprise"):
        with pytest.raises(Forbidden):
            reach.list_matches(session, as_actor(who), PACK, home=tmp_path)


def test_who_may_run_matching_and_what_it_needs(session, tmp_path: Path, as_actor):
    for who in ("department", "enterprise", "regulator"):
        with pytest.raises(Forbidden):
            match.match_pack(session, as_actor(who), PACK, home=tmp_path)
    with pytest.raises(FactsNotBuilt):
        match.match_pack(session, as_actor("operator"), PACK, home=tmp_path)
    with pytest.raises(NotFound):
        match.match_pack(session, SYSTEM, "no-such-pack", home=tmp_path)
    publish_facts(session, tmp_path, city())
    # a pack whose facts this (older, smaller) facts version lacks is refused by name, and skipped
    # by match_all without stopping the others
    with pytest.raises(match.PackNotMatchable, match="企业档案第 1 版没有 tech_based_sme_registered"):
        match.match_pack(session, SYSTEM, "qingdao-lukedai-interest-2025", home=tmp_path)
    said: list[str] = []
    runs = match.match_all(session, as_actor("operator"), home=tmp_path, progress=said.append)
    assert [r.pack_id for r in runs] == [PACK]
    assert any("qingdao-guarantee-fee-2025 暂不能批量匹配" in line for line in said)


def test_a_failed_run_is_recorded_after_the_rollback(session, tmp_path: Path, monkeypatch):
    """What a failed run did is rolled back; its record (failed, with the error) is kept."""
    from pubdata.db import write_durable
    from pubdata.policy.models import PolicyMatchRun

    publish_facts(session, tmp_path, city())

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("磁盘已满")

    monkeypatch.setattr(match, "run_pass", broken)
    request = session.begin_nested()  # what a request's session or session_scope does around it
    with pytest.raises(RuntimeError):
        match.match_pack(session, SYSTEM, PACK, home=tmp_path)
    request.rollback()
    assert write_durable(session)
    runs = session.scalars(select(PolicyMatchRun)).all()
    assert [(r.state, r.error) for r in runs] == [("failed", "RuntimeError: 磁盘已满")]
    assert runs[0].finished_at is not None and notice_count(session) == 0 and not pairs(session)
    monkeypatch.undo()  # the next run is not mistaken for a finished one
    assert match.match_pack(session, SYSTEM, PACK, home=tmp_path).state == "done"
