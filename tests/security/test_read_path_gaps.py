"""Issue 10 §9: gaps in the one read path found by reading the code.

- ``datastore_info`` told a grant holder whose contract filters rows the table's whole row count;
- a version's rejected raw values were served outside the read path, and their reads not audited;
- the policy layer read the enterprise facts file itself ("the caller checks its own permissions");
- quality reports carried a cell value (the table's newest date) to everyone who could see the entry.

The roles × paths matrix (tests/access/test_matrix.py) covers every route; these tests pin each gap.
"""

from __future__ import annotations

import ast
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

import pubdata
from pubdata.access import usage
from pubdata.audit.models import AuditRecord
from pubdata.authz import ROLE_PERMISSIONS, SYSTEM, Permission, Role
from pubdata.catalog import service as catalog
from pubdata.catalog.schemas import EntryUpdate
from pubdata.db import write_durable
from pubdata.enterprise import service as enterprise
from pubdata.enterprise.errors import EnterpriseNotFound
from pubdata.errors import Forbidden
from pubdata.policy.matching import match, reach
from pubdata.store.ingest import load as ingest
from pubdata.store.quality import checks as quality
from pubdata.store.quality import report as quality_report
from tests.access.people import grant, load_people
from tests.policy.facts_builder import PACK, code, publish_facts
from tests.store import rows_fixture
from tests.store.rows_fixture import Loaded, load_table


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def audits(session, action: str) -> list[AuditRecord]:  # type: ignore[no-untyped-def]
    write_durable(session)
    return list(session.scalars(select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.seq)))


# --- datastore_info -------------------------------------------------------------------------------


def test_datastore_info_counts_the_rows_the_contract_lets_the_grantee_read(
    client, session, as_actor, settings, tmp_path, token_for
):
    """The red team's shape: a contract limited to 崂山区 (10 of 30 rows). ``datastore_info`` used to
    answer 30, the table's count, while the rows API answered 10."""
    people = load_people(session, as_actor("department"), settings.home, tmp_path)
    bank = as_actor("bank")
    grant_id = grant(
        session, bank, as_actor("operator"), people, ["district", "phone"],
        department={"row_filter": "district = '崂山区'"},
    )  # fmt: skip
    h = bearer(token_for(bank, scopes=["read"]))
    info = client.post("/api/3/action/datastore_info", json={"id": people.resource_id}, headers=h)
    assert info.status_code == 200, info.text
    result = info.json()["result"]
    assert result["meta"]["count"] == 10
    assert [f["id"] for f in result["fields"]] == ["phone", "district"]
    # a metadata call on a grant is a call: charged one call, no rows; and audited with the grant
    assert usage.usage_today(session, grant_id) == (1, 0)
    (record,) = audits(session, "datastore.info")
    assert record.grant_id == grant_id and record.rows == 0 and record.resource_id == people.resource_id
    rows = client.get(f"/api/v1/resources/{people.resource_id}/rows", params={"total": "true"}, headers=h).json()
    assert rows["total"] == result["meta"]["count"]
    # the publisher still gets the whole table's count
    owner = bearer(token_for(people.owner, scopes=["read"]))
    whole = client.post("/api/3/action/datastore_info", json={"id": people.resource_id}, headers=owner).json()
    assert whole["result"]["meta"]["count"] == 30


# --- rejects --------------------------------------------------------------------------------------


def _with_rejects(session, owner, home: Path, tmp_path: Path, open_type: str) -> tuple[Loaded, int, str]:  # type: ignore[no-untyped-def]
    """A table whose current version rejected one row holding ``planted``: (table, version, planted)."""
    loaded = load_table(session, owner, home, tmp_path, open_type=open_type)
    planted = f"拒收探针-{uuid.uuid4().hex[:8]}"
    path = tmp_path / f"v2-{open_type}.csv"
    path.write_text(rows_fixture.csv_text() + f"{planted},探针公司,市南区,1.50,1,2020-01-01\n", encoding="utf-8")
    result = ingest.ingest(session, owner, loaded.resource_id, path, home=home)
    assert result.rows_rejected == 1
    return loaded, result.version, planted


def test_rejected_values_reach_only_the_publisher_and_the_operator_and_every_read_is_audited(
    client, session, as_actor, settings, tmp_path, token_for
):
    owner = as_actor("department")
    table, number, planted = _with_rejects(session, owner, settings.home, tmp_path, "conditional")
    rid = table.resource_id
    bank = as_actor("bank")
    grant(session, bank, as_actor("operator"), table, ["district"])  # type: ignore[arg-type]
    url = f"/api/v1/resources/{rid}/versions/{number}/rejects.csv"

    refused = {
        "grantee": (bank, 403),  # a grant on the table's rows is no right to its rejected values
        "other department": (as_actor("department"), 403),
        "regulator": (as_actor("regulator"), 403),
    }
    for who, (actor, status) in refused.items():
        r = client.get(url, headers=bearer(token_for(actor, scopes=["read"])))
        assert r.status_code == status and planted not in r.text, who
        assert r.json()["error"]["code"] == "store.rejects_forbidden", who
    r = client.get(url)
    assert r.status_code == 401 and planted not in r.text

    for actor in (owner, as_actor("operator")):
        r = client.get(url, headers=bearer(token_for(actor, scopes=["read"])))
        assert r.status_code == 200 and planted in r.content.decode("utf-8-sig")

    records = audits(session, "rejects.read")
    assert [r.result for r in records] == ["refused"] * 4 + ["allowed"] * 2
    assert {r.actor_user_id for r in records if r.result == "refused"} == {
        bank.user_id, refused["other department"][0].user_id, refused["regulator"][0].user_id, None,
    }  # fmt: skip
    allowed = records[-1]
    assert (allowed.resource_id, allowed.version, allowed.rows) == (rid, number, 1)
    assert all(planted not in (r.reason or "") for r in records)


def test_rejected_values_of_open_data_are_not_public(client, session, as_actor, settings, tmp_path, token_for):
    """Rejects hold values that failed validation — perhaps personal data that should never have been
    in an open table: open data's rejects are the publisher's too, and reads of them are audited."""
    owner = as_actor("department")
    table, number, planted = _with_rejects(session, owner, settings.home, tmp_path, "unconditional")
    url = f"/api/v1/resources/{table.resource_id}/versions/{number}/rejects.csv"
    assert client.get(url).status_code == 401
    r = client.get(url, headers=bearer(token_for(as_actor("enterprise"), scopes=["read"])))
    assert r.status_code == 403 and planted not in r.text
    assert client.get(url, headers=bearer(token_for(owner, scopes=["read"]))).status_code == 200
    assert [r.result for r in audits(session, "rejects.read")] == ["refused", "refused", "allowed"]


# --- quality reports ------------------------------------------------------------------------------


def _dated_table(session, owner, home: Path, tmp_path: Path, open_type: str):  # type: ignore[no-untyped-def]
    loaded = load_table(session, owner, home, tmp_path, open_type=open_type)
    catalog.update_entry(session, owner, loaded.entry_code, EntryUpdate(update_frequency="monthly"))
    return loaded


def _timeliness(report: dict) -> dict:
    return report["dimensions"]["timeliness"]["evidence"]


def test_quality_reports_carry_no_cell_value_to_those_who_may_not_read_the_rows(
    client, session, as_actor, settings, tmp_path, token_for
):
    """The newest date of a closed table (成立日期 2020-01-28 here) was in its public quality report,
    in the versions list and worded on the entry page."""
    owner = as_actor("department")
    closed = _dated_table(session, owner, settings.home, tmp_path, "closed")
    rid = closed.resource_id
    mine = bearer(token_for(owner, scopes=["read"]))
    assert _timeliness(client.get(f"/api/v1/resources/{rid}/quality", headers=mine).json()["report"])["newest"] == (
        "2020-01-28"
    )
    for headers in ({}, bearer(token_for(as_actor("bank"), scopes=["read"]))):
        body = client.get(f"/api/v1/resources/{rid}/quality", headers=headers).json()
        evidence = _timeliness(body["report"])
        assert "newest" not in evidence
        # what is left about time: the end of the data's last day (Beijing midnight), and scores
        assert evidence["data_until"] == "2020-01-28T16:00:00+00:00" and body["score"] is not None
        versions = client.get(f"/api/v1/resources/{rid}/versions", headers=headers).json()
        assert all("newest" not in _timeliness(v["quality"]) for v in versions)
        page = client.get(f"/dataset/{closed.entry_name}", headers=headers).text
        assert "最新数据" not in page and "数据截至 2020-01-28" in page
    assert "最新数据 2020-01-28" in client.get(f"/dataset/{closed.entry_name}", headers=mine).text


def test_a_grant_holder_gets_the_report_without_values(client, session, as_actor, settings, tmp_path, token_for):
    """A contract may leave out the very column (and rows) the newest date comes from."""
    owner = as_actor("department")
    table = _dated_table(session, owner, settings.home, tmp_path, "conditional")
    bank = as_actor("bank")
    grant(session, bank, as_actor("operator"), table, ["district"], department={"row_filter": "district = '市南区'"})
    h = bearer(token_for(bank, scopes=["read"]))
    assert client.get(f"/api/v1/resources/{table.resource_id}/rows", headers=h).status_code == 200
    body = client.get(f"/api/v1/resources/{table.resource_id}/quality", headers=h).json()
    assert "newest" not in _timeliness(body["report"])


def test_without_values_keeps_only_the_day_and_rescores_from_it():
    loaded = datetime(2024, 5, 3, 2, 0, tzinfo=UTC)
    report = {
        "score": 90.0,
        "rows": 10,
        "dimensions": {
            "completeness": {"score": 80.0, "evidence": {"cells": 10, "filled": 8}},
            "timeliness": {
                "score": None,
                "evidence": {"basis": "field", "field": "visited_at", "newest": "2024-05-01 14:30:07",
                             "data_until": "2024-05-01T06:30:07+00:00", "loaded_at": loaded.isoformat()},
            },
        },
    }  # fmt: skip
    report = quality.refresh(report, "daily", loaded)
    assert report is not None and _timeliness(report)["age_days"] == 1.81
    shown = quality.without_values(report)
    assert shown is not None
    evidence = _timeliness(shown)
    assert "newest" not in evidence and "14:30" not in str(shown)
    assert evidence["data_until"] == "2024-05-01T16:00:00+00:00"  # the end of 1 May, Beijing
    assert evidence["age_days"] == 1.42 and evidence["as_of"] == loaded.isoformat()
    assert shown["score"] == quality.overall(shown["dimensions"])
    words = quality_report.describe(shown)
    assert any(d["text"].startswith("数据截至 2024-05-01") for d in words)
    assert quality.without_values(None) is None


# --- enterprise facts: one permission check ------------------------------------------------------

SRC = Path(pubdata.__file__).parent


def test_the_facts_file_is_opened_only_by_read_facts():
    """Every facts read goes through ``enterprise.service.read_facts``: no other function names the
    facts file (the policy layer used to get its path from ``facts_path``, which checked nothing)."""
    offenders = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            for node in ast.walk(fn):
                called = isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
                if called == "facts_file" and fn.name != "read_facts":
                    offenders.append(f"{path.relative_to(SRC)}:{node.lineno} in {fn.name}")
    assert not offenders, offenders
    assert not hasattr(enterprise, "facts_path")


ROWS = [
    {"uscc": code(41), "name": "青岛档案探针有限公司", "registered_district": "市南区", "has_independent_site": True,
     "cbec_export_amount": 30_000_000, "independent_site_investment": 300_000,
     "provincial_key_platform_2022": True, "cbec_import_export_amount": 30_000_000},
]  # fmt: skip


@pytest.fixture
def matched(session, settings) -> Path:  # type: ignore[no-untyped-def]
    publish_facts(session, settings.home, ROWS)
    match.match_pack(session, SYSTEM, PACK, home=settings.home)
    return settings.home


def _without_facts_read_any(monkeypatch, role: Role) -> None:  # type: ignore[no-untyped-def]
    """A role as a future change might leave it: the policy permission, not the facts one."""
    monkeypatch.setitem(ROLE_PERMISSIONS, role, ROLE_PERMISSIONS[role] - {Permission.ENTERPRISE_FACTS_READ_ANY})


def test_reach_and_match_lists_need_the_right_to_read_every_enterprises_facts(session, matched, as_actor, monkeypatch):
    """The policy services checked only their own permission and then read the whole facts file; now
    the facts read checks its own, whatever the caller checked."""
    regulator, department = as_actor("regulator"), as_actor("department")
    assert reach.reach(session, regulator, PACK, home=matched).eligible_enterprises == 1
    _without_facts_read_any(monkeypatch, Role.REGULATOR)
    _without_facts_read_any(monkeypatch, Role.DEPARTMENT)
    assert regulator.can(Permission.POLICY_REACH_READ) and department.can(Permission.POLICY_MATCH_READ)
    reach._reach_rows.cache_clear()
    with pytest.raises(Forbidden):
        reach.reach(session, regulator, PACK, home=matched)
    with pytest.raises(Forbidden):
        reach.list_matches(session, department, PACK, home=matched)
    refused = [r for r in audits(session, "facts.read") if r.result == "refused"]
    assert {r.actor_user_id for r in refused} == {regulator.user_id, department.user_id}
    assert all(r.details == {"scope": "all"} for r in refused)


def test_batch_matching_needs_the_right_to_read_every_enterprises_facts(session, matched, as_actor, monkeypatch):
    operator = as_actor("operator")
    _without_facts_read_any(monkeypatch, Role.OPERATOR)
    assert operator.can(Permission.POLICY_MATCH_RUN)
    with pytest.raises(Forbidden):
        match.match_pack(session, operator, PACK, home=matched, force=True)
    # the system actor (the job that follows new facts) still matches
    assert match.match_pack(session, SYSTEM, PACK, home=matched, force=True).enterprises == 1


def test_a_refused_facts_read_is_audited(session, matched, as_actor):
    bank = as_actor("bank")
    with pytest.raises(EnterpriseNotFound):
        enterprise.get_facts(session, bank, ROWS[0]["uscc"], home=matched)
    with pytest.raises(EnterpriseNotFound):
        enterprise.read_facts(session, bank, home=matched, uscc=ROWS[0]["uscc"])
    with pytest.raises(Forbidden):
        enterprise.read_facts(session, bank, home=matched)
    refused = audits(session, "facts.read")
    assert [(r.result, r.details) for r in refused] == [
        ("refused", {"uscc": ROWS[0]["uscc"]}),
        ("refused", {"uscc": ROWS[0]["uscc"]}),
        ("refused", {"scope": "all"}),
    ]
    assert all(r.actor_user_id == bank.user_id for r in refused)
    # who may read: their own organisation's, or any with the read-any permission
    assert enterprise.read_facts(session, as_actor("regulator"), home=matched).version == 1
