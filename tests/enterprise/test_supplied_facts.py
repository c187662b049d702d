"""Facts only the enterprise can supply: who may supply them (its own users only), every bad value
named per fact with nothing written, history, the one-enterprise read's overlay, and the facts build
carrying the current values into the table (and a supply making the facts stale)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.audit.models import AuditRecord
from pubdata.authz import SYSTEM, Actor
from pubdata.db import write_durable
from pubdata.enterprise import files, service, supplied
from pubdata.enterprise.errors import EnterpriseNotFound, InvalidSuppliedFacts, SupplyNotAllowed
from pubdata.enterprise.facts import FACTS
from pubdata.errors import Forbidden, Unauthenticated
from pubdata.settings import Settings
from tests import builders
from tests.enterprise.mini_city import A, B, build_city


@pytest.fixture
def city(session: Session, settings: Settings, tmp_path: Path) -> Path:
    build_city(session, settings.home, tmp_path)
    service.build_facts(session, SYSTEM, home=settings.home)
    return settings.home


@pytest.fixture
def own_a(session: Session, as_actor) -> Actor:  # type: ignore[no-untyped-def]
    return as_actor("enterprise", org=builders.make_org(session, "enterprise", uscc=A))


def _row(home: Path, number: int, uscc: str) -> dict:
    con = duckdb.connect()
    try:
        table = con.execute(f"SELECT * FROM read_parquet('{files.facts_file(home, number)}')").to_arrow_table()
    finally:
        con.close()
    return next(r for r in table.to_pylist() if r["uscc"] == uscc)


def test_the_enterprise_supplies_and_its_reads_see_the_values_at_once(session: Session, city: Path, own_a) -> None:  # type: ignore[no-untyped-def]
    before = service.get_facts(session, own_a, A, home=city)
    assert before.values["is_sme"] is None
    sme = next(f for f in before.facts if f.name == "is_sme")
    assert sme.supplied and sme.supplied_by is None and sme.supplied_at is None

    result = service.supply_facts(
        session, own_a, A.lower(),
        {"is_sme": True, "rd_expense_ratio_pct": 5.0, "new_equity_financing_last_3_years_yuan": 5_000_000,
         "rd_institution_level": "省级", "ip_class1_high_value_count": 2},
        note="2025 年度审计报告",
    )  # fmt: skip
    assert sorted(result.stored) == sorted(
        ["is_sme", "rd_expense_ratio_pct", "new_equity_financing_last_3_years_yuan", "rd_institution_level",
         "ip_class1_high_value_count"]
    )  # fmt: skip
    facts = service.get_facts(session, own_a, A, home=city)
    assert facts.values["is_sme"] is True
    assert facts.values["rd_expense_ratio_pct"] == Decimal("5.00")
    assert facts.values["new_equity_financing_last_3_years_yuan"] == 5_000_000
    assert facts.values["rd_institution_level"] == "省级"
    assert facts.values["ip_class1_high_value_count"] == 2
    sme = next(f for f in facts.facts if f.name == "is_sme")
    assert sme.supplied_by and sme.supplied_by.startswith("测试用户") and sme.supplied_at is not None
    assert sme.supplied_note == "2025 年度审计报告"
    # public facts are untouched and carry no provenance
    export = next(f for f in facts.facts if f.name == "cbec_export_amount")
    assert export.value == 26_005_000 and export.supplied_by is None and not export.supplied
    # the operator's read of the same enterprise sees them too
    assert service.get_facts(session, SYSTEM, A, home=city).values["is_sme"] is True


def test_only_the_enterprise_itself_supplies(session: Session, city: Path, own_a, as_actor) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EnterpriseNotFound):  # another enterprise's users: not even visible
        service.supply_facts(session, own_a, B, {"is_sme": True})
    for role in ("operator", "department", "regulator", "bank"):  # no one else supplies
        with pytest.raises(Forbidden) as refused:
            service.supply_facts(session, as_actor(role), A, {"is_sme": True})
        assert refused.value.status == 403 and "enterprise:facts:supply" in refused.value.message
    # the administrator and the system hold every permission, and may read the enterprise: still not theirs
    with pytest.raises(SupplyNotAllowed):
        service.supply_facts(session, SYSTEM, A, {"is_sme": True})
    with pytest.raises(SupplyNotAllowed):
        service.supply_facts(session, as_actor("admin"), A, {"is_sme": True})
    with pytest.raises(Unauthenticated):
        service.supply_facts(session, as_actor("anonymous"), A, {"is_sme": True})
    # a token of the enterprise's user without the ``policy`` scope
    narrowed = Actor(**{**own_a.__dict__, "scopes": frozenset({"read"}), "via": "token"})
    with pytest.raises(Forbidden):
        service.supply_facts(session, narrowed, A, {"is_sme": True})
    assert service.supplied_facts(session, SYSTEM, A).current == []
    # reading the supplied facts: its own users and those who read any enterprise; others not found
    assert service.supplied_facts(session, own_a, A).uscc == A
    assert service.supplied_facts(session, as_actor("regulator"), A).current == []
    with pytest.raises(EnterpriseNotFound):
        service.supplied_facts(session, own_a, B)
    with pytest.raises(EnterpriseNotFound):
        service.supplied_facts(session, as_actor("bank"), A)


def test_every_bad_value_is_named_and_nothing_is_written(session: Session, city: Path, own_a) -> None:  # type: ignore[no-untyped-def]
    bad = {
        "is_sme": "是",  # a boolean as text
        "rd_expense_ratio_pct": 3.456,  # three decimals
        "new_equity_financing_last_3_years_yuan": -5,  # negative money
        "revenue_last_year_yuan": 12.5,  # money is whole yuan
        "ip_class1_high_value_count": "2",  # a count as text
        "rd_institution_level": "国际级",  # not one of the values
        "registered_capital": 100,  # a public fact
        "no_such_fact": 1,
        "main_business_revenue_share_pct": 80,  # fine, but not written either
    }
    with pytest.raises(InvalidSuppliedFacts) as refused:
        service.supply_facts(session, own_a, A, bad)
    error = refused.value
    assert error.status == 422 and error.code == "enterprise.invalid_supplied_facts"
    by_field = {d["field"]: d["message"] for d in error.details}
    assert set(by_field) == {f"facts.{n}" for n in bad if n != "main_business_revenue_share_pct"}
    assert "应为“是”或“否”" in by_field["facts.is_sme"] and FACTS["is_sme"].title in by_field["facts.is_sme"]
    assert "两位小数" in by_field["facts.rd_expense_ratio_pct"]
    assert "不能为负数" in by_field["facts.new_equity_financing_last_3_years_yuan"]
    assert "应为整数（元）" in by_field["facts.revenue_last_year_yuan"]
    assert "应为整数" in by_field["facts.ip_class1_high_value_count"]
    assert "国家级、省级、市级、市级以下、未建立" in by_field["facts.rd_institution_level"]
    assert (
        "由公共数据" in by_field["facts.registered_capital"]
        and "不能由企业填报" in by_field["facts.registered_capital"]
    )
    assert "未知的事实" in by_field["facts.no_such_fact"]
    assert service.supplied_facts(session, own_a, A).history == []
    assert service.get_facts(session, own_a, A, home=city).values["main_business_revenue_share_pct"] is None
    with pytest.raises(InvalidSuppliedFacts, match="没有要填报的事实"):
        service.supply_facts(session, own_a, A, {})


def test_a_new_value_supersedes_and_history_is_kept(session: Session, city: Path, own_a) -> None:  # type: ignore[no-untyped-def]
    service.supply_facts(session, own_a, A, {"rd_expense_ratio_pct": 3}, note="初次填报")
    service.supply_facts(session, own_a, A, {"rd_expense_ratio_pct": Decimal("4.5")}, note="更正")
    again = service.supply_facts(session, own_a, A, {"rd_expense_ratio_pct": 4.5}, note="更正")
    assert again.stored == [] and again.unchanged == ["rd_expense_ratio_pct"]
    now = service.supplied_facts(session, own_a, A)
    assert [(c.name, c.value, c.note) for c in now.current] == [("rd_expense_ratio_pct", Decimal("4.50"), "更正")]
    assert [h.value for h in now.history] == [Decimal("4.50"), Decimal("3.00")]
    newest, older = now.history
    assert newest.superseded_at is None and older.superseded_at is not None
    assert newest.supplied_by_user_id == own_a.user_id

    # null withdraws the value: unknown again, the history keeps all three
    service.supply_facts(session, own_a, A, {"rd_expense_ratio_pct": None})
    now = service.supplied_facts(session, own_a, A)
    assert now.current == [] and [h.value for h in now.history] == [None, Decimal("4.50"), Decimal("3.00")]
    assert service.get_facts(session, own_a, A, home=city).values["rd_expense_ratio_pct"] is None


def test_a_build_carries_the_supplied_values_into_the_table(session: Session, city: Path, own_a) -> None:  # type: ignore[no-untyped-def]
    first = service.current_version(session)
    assert first is not None and not service.facts_stale(session)
    service.supply_facts(
        session, own_a, A,
        {"is_sme": True, "rd_expense_ratio_pct": 5, "revenue_last_year_yuan": 123_456_789,
         "rd_institution_level": "国家级", "main_business_revenue_growth_pct": -12.5},
    )  # fmt: skip
    # the table does not have them yet, and says so: the facts are stale
    assert _row(city, first.number, A)["is_sme"] is None
    assert service.facts_stale(session)

    built = service.build_facts(session, SYSTEM, home=city)
    assert built.built and built.version.number == first.number + 1
    row = _row(city, built.version.number, A)
    assert row["is_sme"] is True
    assert row["rd_expense_ratio_pct"] == Decimal("5.00")
    assert row["revenue_last_year_yuan"] == 123_456_789
    assert row["rd_institution_level"] == "国家级"
    assert row["main_business_revenue_growth_pct"] == Decimal("-12.50")
    assert row["cbec_export_amount"] == 26_005_000  # the public facts as before
    assert _row(city, built.version.number, B)["is_sme"] is None  # only A supplied
    assert (files.version_dir(city, built.version.number) / service.SUPPLIED_FILE).is_file()
    assert built.version.supplied_through == supplied.latest_id(session)
    assert not service.facts_stale(session)
    assert not service.build_facts(session, SYSTEM, home=city).built  # nothing changed since

    # a withdrawn value leaves the table at the next build; the older version keeps what it had
    service.supply_facts(session, own_a, A, {"is_sme": None})
    assert service.facts_stale(session)
    rebuilt = service.build_facts(session, SYSTEM, home=city)
    assert _row(city, rebuilt.version.number, A)["is_sme"] is None
    assert _row(city, rebuilt.version.number, A)["rd_expense_ratio_pct"] == Decimal("5.00")
    assert _row(city, built.version.number, A)["is_sme"] is True


def test_the_build_snapshot_takes_each_facts_value_as_of_its_newest_row(session: Session, city: Path, own_a) -> None:  # type: ignore[no-untyped-def]
    service.supply_facts(session, own_a, A, {"is_sme": True, "rd_expense_ratio_pct": 1})
    service.supply_facts(session, own_a, A, {"rd_expense_ratio_pct": 2})
    through = supplied.latest_id(session)
    rows = supplied.build_snapshot(session, through)
    assert sorted(rows) == [(A, "is_sme", "true"), (A, "rd_expense_ratio_pct", "2.00")]
    # as of an earlier row, the value that was current then
    assert through is not None
    assert sorted(supplied.build_snapshot(session, through - 1)) == [
        (A, "is_sme", "true"), (A, "rd_expense_ratio_pct", "1.00")
    ]  # fmt: skip


def test_supplies_and_refusals_are_audited(session: Session, city: Path, own_a, as_actor) -> None:  # type: ignore[no-untyped-def]
    service.supply_facts(session, own_a, A, {"is_sme": True})
    with pytest.raises(InvalidSuppliedFacts):
        service.supply_facts(session, own_a, A, {"is_sme": "x"})
    operator = as_actor("operator")
    with pytest.raises(Forbidden):
        service.supply_facts(session, operator, A, {"is_sme": False})
    write_durable(session)
    records = session.scalars(select(AuditRecord).where(AuditRecord.action == "facts.supply")).all()
    mine = [(r.result, r.details) for r in records if r.actor_user_id == own_a.user_id]
    assert ("allowed", {"uscc": A, "facts": ["is_sme"]}) in mine
    assert ("refused", {"uscc": A, "facts": ["is_sme"]}) in mine
    assert any(r.actor_user_id == operator.user_id and r.result == "refused" for r in records)


# --- the API --------------------------------------------------------------------------------------


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_api_supply_read_and_tiers(session: Session, city: Path, client, own_a, as_actor, token_for) -> None:  # type: ignore[no-untyped-def]
    headers = _bearer(token_for(own_a, scopes=["read", "policy"]))
    url = f"/api/v1/enterprises/{A}/supplied-facts"
    r = client.post(url, json={"facts": {"is_sme": True, "asset_liability_ratio_pct": 42.5}, "note": "年报"},
                    headers=headers)  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert sorted(body["stored"]) == ["asset_liability_ratio_pct", "is_sme"]
    current = {c["name"]: c for c in body["facts"]["current"]}
    assert current["asset_liability_ratio_pct"]["value"] == 42.5 and current["is_sme"]["note"] == "年报"
    assert current["is_sme"]["supplied_by"].startswith("测试用户")

    r = client.post(url, json={"facts": {"is_sme": "yes", "rd_expense_ratio_pct": 1.234}}, headers=headers)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "enterprise.invalid_supplied_facts"
    assert {d["field"] for d in error["details"]} == {"facts.is_sme", "facts.rd_expense_ratio_pct"}

    read_only = _bearer(token_for(own_a, scopes=["read"]))
    assert client.post(url, json={"facts": {"is_sme": False}}, headers=read_only).status_code == 403
    assert client.get(url, headers=read_only).json()["current"][0]["name"] in ("is_sme", "asset_liability_ratio_pct")
    operator = _bearer(token_for(as_actor("operator"), scopes=["read", "policy"]))
    assert client.get(url, headers=operator).status_code == 200
    r = client.post(url, json={"facts": {"is_sme": False}}, headers=operator)
    assert r.status_code == 403 and r.json()["error"]["code"] == "auth.permission_denied"
    admin = _bearer(token_for(as_actor("admin"), scopes=["read", "policy"]))
    r = client.post(url, json={"facts": {"is_sme": False}}, headers=admin)
    assert r.status_code == 403 and r.json()["error"]["code"] == "enterprise.supply_not_allowed"
    other = as_actor("enterprise", org=builders.make_org(session, "enterprise", uscc=B))
    assert client.get(url, headers=_bearer(token_for(other, scopes=["read", "policy"]))).status_code == 404
    assert client.get(url).status_code == 404

    r = client.get(f"/api/v1/enterprises/{A}/tiers", headers=headers)
    assert r.status_code == 200, r.text
    tiers = r.json()
    assert [v["pack_id"] for v in tiers["versions"]] == ["miit-tiers-2026", "miit-tiers-2022"]
    assert tiers["in_force"] == "miit-tiers-2026" and tiers["versions"][0]["in_force"] is True
    innovative = next(c for c in tiers["versions"][1]["clauses"] if c["id"] == "innovative_sme")
    assert innovative["status"] == "undecided" and innovative["score_min"] is not None
    assert "is_sme" not in innovative["missing"]  # supplied above
    assert "rd_expense_ratio_pct" in innovative["missing_supplied"]
    assert {s["name"] for s in tiers["supplied"]} == {"is_sme", "asset_liability_ratio_pct"}
    r = client.get(f"/api/v1/enterprises/{A}/tiers", params={"on": "2025-01-01"}, headers=headers)
    assert r.json()["in_force"] == "miit-tiers-2022"
    assert client.get(f"/api/v1/enterprises/{A}/tiers").status_code == 404
