"""Enterprise facts over a hand-made city: every rule worked out by hand, who may read whose facts
(service and API), staleness and refresh, and the audit trail."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.audit.models import AuditRecord
from pubdata.authz import SYSTEM
from pubdata.db import write_durable
from pubdata.enterprise import files, service
from pubdata.enterprise.errors import EnterpriseNotFound, FactsNotBuilt, InvalidYear, RegistryMissing
from pubdata.enterprise.facts import FACTS, SOURCES
from pubdata.errors import Forbidden
from pubdata.settings import Settings
from pubdata.standards import uscc_with_check
from pubdata.store import service as store
from tests import builders
from tests.enterprise.mini_city import ENTRY, EXPECTED, TABLES, A, B, C, build_city, load


@pytest.fixture
def city(session: Session, settings: Settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    return build_city(session, settings.home, tmp_path)


def _facts(home: Path, number: int) -> dict[str, dict]:
    con = duckdb.connect()
    try:
        table = con.execute(f"SELECT * FROM read_parquet('{files.facts_file(home, number)}')").to_arrow_table()
    finally:
        con.close()
    return {row["uscc"]: row for row in table.to_pylist()}


def test_every_fact_as_worked_out_by_hand(session: Session, city) -> None:  # type: ignore[no-untyped-def]
    result = service.build_facts(session, SYSTEM, home=city.home)
    assert result.built and result.version.year == 2022 and result.version.enterprises == 5
    rows = _facts(city.home, result.version.number)
    assert set(rows) == set(EXPECTED)
    for uscc, expected in EXPECTED.items():
        got = {name: rows[uscc][name] for name in expected}
        assert got == expected, uscc
    assert list(rows[A]) == list(FACTS)  # one column per fact, in catalogue order


def test_parquet_columns_are_typed_as_the_catalogue_says(session: Session, city) -> None:  # type: ignore[no-untyped-def]
    number = service.build_facts(session, SYSTEM, home=city.home).version.number
    con = duckdb.connect()
    described = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{files.facts_file(city.home, number)}')").fetchall()
    assert {name: kind for name, kind, *_ in described} == {f.name: f.duckdb_type for f in FACTS.values()}


def test_trade_facts_are_unknown_for_a_year_the_statistics_do_not_hold(session: Session, city) -> None:  # type: ignore[no-untyped-def]
    result = service.build_facts(session, SYSTEM, home=city.home, year=2019)
    rows = _facts(city.home, result.version.number)
    assert {r["cbec_export_amount"] for r in rows.values()} == {None}
    assert {r["has_independent_site"] for r in rows.values()} == {None}
    # lists without a year still answer; states are as of the end of 2019
    assert rows[A]["provincial_key_platform_2022"] is True
    assert rows[A]["tax_credit_grade"] is None and rows[A]["patent_count"] == 1  # P1 only (2018)
    assert rows[B]["is_abnormal_operation"] is False  # listed in 2021
    assert rows[B]["public_warehouse_operating_months"] == 0  # opened in 2021


def test_a_source_without_data_leaves_its_facts_unknown(session: Session, settings: Settings, tmp_path: Path) -> None:
    build_city(session, settings.home, tmp_path, only={"enterprise_registry", "cbec_trade"})
    result = service.build_facts(session, SYSTEM, home=settings.home)
    assert result.version.sources[SOURCES["patents"].entry_code] is None
    rows = _facts(settings.home, result.version.number)
    assert rows[A]["cbec_export_amount"] == 26_005_000
    for name in ("patent_count", "is_high_tech", "tax_credit_grade", "provincial_key_platform_2022"):
        assert {r[name] for r in rows.values()} == {None}, name


def test_without_the_registry_nothing_is_built(session: Session, settings: Settings, tmp_path: Path) -> None:
    build_city(session, settings.home, tmp_path, only={"cbec_trade"})
    with pytest.raises(RegistryMissing, match="QD-SCJGJ-GS-00001"):
        service.build_facts(session, SYSTEM, home=settings.home)


def test_a_year_out_of_range_is_refused(session: Session, city) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidYear):
        service.build_facts(session, SYSTEM, home=city.home, year=2999)


def test_builds_are_idempotent_and_refresh_when_a_source_changes(session: Session, city, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert service.facts_stale(session)
    first = service.build_facts(session, SYSTEM, home=city.home)
    assert first.built and not service.facts_stale(session)
    again = service.build_facts(session, SYSTEM, home=city.home)
    assert not again.built and again.version.number == first.version.number

    csv = TABLES["social_insurance"][2].replace("2022-12,12", "2022-12,15")
    load(session, "social_insurance", csv, city.resources["social_insurance"], city.home, tmp_path)
    assert service.facts_stale(session)
    second = service.build_facts(session, SYSTEM, home=city.home)
    assert second.built and second.version.number == first.version.number + 1
    assert second.version.sources[SOURCES["social_insurance"].entry_code] == 2
    assert service.get_facts(session, SYSTEM, A, home=city.home).values["insured_headcount"] == 15
    # the first version's file is untouched
    assert _facts(city.home, first.version.number)[A]["insured_headcount"] == 12

    # rolling a source back makes the facts stale again
    store.roll_back(session, SYSTEM, city.resources["social_insurance"], 1)
    assert service.facts_stale(session)
    forced = service.build_facts(session, SYSTEM, home=city.home)
    assert forced.built and service.get_facts(session, SYSTEM, A, home=city.home).values["insured_headcount"] == 12
    assert service.build_facts(session, SYSTEM, home=city.home, force=True).version.number == forced.version.number + 1


def test_reads_before_the_first_build(session: Session, settings: Settings) -> None:
    with pytest.raises(FactsNotBuilt):
        service.read_facts(session, SYSTEM, home=settings.home)
    with pytest.raises(FactsNotBuilt):
        service.get_facts(session, SYSTEM, A, home=settings.home)


def test_facts_path_is_the_current_version(session: Session, city) -> None:  # type: ignore[no-untyped-def]
    built = service.build_facts(session, SYSTEM, home=city.home, year=2021)
    facts = service.read_facts(session, SYSTEM, home=city.home)
    path, number = facts.path, facts.version
    assert number == built.version.number and path == files.facts_file(city.home, number) and path.is_file()


# --- who may read whose facts ---------------------------------------------------------------------


def test_an_enterprise_sees_only_its_own_facts(session: Session, city, as_actor) -> None:  # type: ignore[no-untyped-def]
    service.build_facts(session, SYSTEM, home=city.home)
    own = as_actor("enterprise", org=builders.make_org(session, "enterprise", uscc=A))
    facts = service.get_facts(session, own, A.lower(), home=city.home)
    assert facts.uscc == A and facts.values["cbec_export_amount"] == 26_005_000
    assert facts.facts[0].name == "uscc" and facts.facts[0].source.entry_code == "QD-SCJGJ-GS-00001"
    with pytest.raises(EnterpriseNotFound):
        service.get_facts(session, own, B, home=city.home)
    # an enterprise the facts do not hold, seen by one who may read any: also not found
    with pytest.raises(EnterpriseNotFound):
        service.get_facts(session, SYSTEM, uscc_with_check("91370202MA9999999"), home=city.home)


@pytest.mark.parametrize("role", ["operator", "department", "regulator", "admin"])
def test_operator_departments_and_the_regulator_see_any_enterprise(  # type: ignore[no-untyped-def]
    session: Session, city, as_actor, role: str
) -> None:
    service.build_facts(session, SYSTEM, home=city.home)
    assert service.get_facts(session, as_actor(role), C, home=city.home).values["is_dishonest_debtor"] is True


@pytest.mark.parametrize("role", ["bank", "data_merchant", "appraiser", "anonymous"])
def test_others_get_not_found(session: Session, city, as_actor, role: str) -> None:  # type: ignore[no-untyped-def]
    service.build_facts(session, SYSTEM, home=city.home)
    with pytest.raises(EnterpriseNotFound):
        service.get_facts(session, as_actor(role), A, home=city.home)


@pytest.mark.parametrize("role", ["department", "regulator", "enterprise", "bank"])
def test_only_the_operator_builds(session: Session, city, as_actor, role: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Forbidden):
        service.build_facts(session, as_actor(role), home=city.home)
    assert service.build_facts(session, as_actor("operator"), home=city.home).built


def test_reads_and_builds_are_audited(session: Session, city, as_actor) -> None:  # type: ignore[no-untyped-def]
    operator = as_actor("operator")
    built = service.build_facts(session, operator, home=city.home)
    service.get_facts(session, operator, B, home=city.home)
    write_durable(session)
    records = session.scalars(select(AuditRecord).where(AuditRecord.actor_user_id == operator.user_id)).all()
    actions = [r.action for r in records]
    assert actions.count("facts.build") == 1 and actions.count("facts.read") == 1
    read = next(r for r in records if r.action == "facts.read")
    assert read.details == {"uscc": B} and read.version == built.version.number
    # the governed (conditionally open) sources' reads are recorded, the open ones are not
    source_reads = {r.entry_code for r in records if r.action == "facts.source_read"}
    governed = {ENTRY[k] for k, (open_type, _s, _c) in TABLES.items() if open_type != "unconditional"}
    assert source_reads == governed


# --- the API --------------------------------------------------------------------------------------


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_api_catalogue_is_public(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/facts")
    assert r.status_code == 200
    body = r.json()
    assert [f["name"] for f in body] == list(FACTS)
    export = next(f for f in body if f["name"] == "cbec_export_amount")
    assert export["unit"] == "元" and export["type"] == "money" and export["source"]["entry_code"] == "QD-SWJ-SM-00001"
    assert "为 0" in export["missing"]


def test_api_enterprise_sees_its_own_facts_only(session: Session, city, client, as_actor, token_for) -> None:  # type: ignore[no-untyped-def]
    operator = as_actor("operator")
    r = client.post("/api/v1/facts/build", json={}, headers=_bearer(token_for(operator, scopes=["read", "operate"])))
    assert r.status_code == 200, r.text
    assert r.json()["built"] is True and r.json()["version"]["enterprises"] == 5

    own = as_actor("enterprise", org=builders.make_org(session, "enterprise", uscc=B))
    headers = _bearer(token_for(own, scopes=["read"]))
    r = client.get(f"/api/v1/enterprises/{B}/facts", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["values"]["park_import_export_amount"] == 3_000_000 and body["version"]["year"] == 2022
    park = next(f for f in body["facts"] if f["name"] == "park_import_export_amount")
    assert park["title"] == "园区跨境电商进出口额" and park["unit"] == "元"
    assert park["source"]["entry_code"] == "QD-SWJ-SM-00003"
    assert client.get(f"/api/v1/enterprises/{A}/facts", headers=headers).status_code == 404
    assert client.get(f"/api/v1/enterprises/{A}/facts").status_code == 404  # anonymous
    r = client.get(f"/api/v1/enterprises/{A}/facts", headers=_bearer(token_for(as_actor("bank"), scopes=["read"])))
    assert r.status_code == 404 and r.json()["error"]["code"] == "enterprise.not_found"
    r = client.get(f"/api/v1/enterprises/{A}/facts", headers=_bearer(token_for(as_actor("regulator"), scopes=["read"])))
    assert r.status_code == 200 and r.json()["values"]["founded"] == "2016-04-18"


def test_api_build_is_the_operators(session: Session, city, client, as_actor, token_for) -> None:  # type: ignore[no-untyped-def]
    dept = _bearer(token_for(as_actor("department"), scopes=["read", "catalog:write", "access", "policy"]))
    assert client.post("/api/v1/facts/build", headers=dept).status_code == 403
    operator = _bearer(token_for(as_actor("operator"), scopes=["read", "operate"]))
    r = client.post("/api/v1/facts/build", json={"year": 2021}, headers=operator)
    assert r.status_code == 200 and r.json()["version"]["year"] == 2021
    r = client.post("/api/v1/facts/build", json={"year": 2021}, headers=operator)
    assert r.json()["built"] is False
    r = client.post("/api/v1/facts/build", json={"year": 3000}, headers=operator)
    assert r.status_code == 422 and r.json()["error"]["code"] == "enterprise.invalid_year"
    versions = client.get("/api/v1/facts/versions", headers=operator)
    assert [v["year"] for v in versions.json()] == [2021]
