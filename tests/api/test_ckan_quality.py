"""The data store's facts in CKAN's package_show and resource_show, driven by the real ``ckanapi``
client against a running server: quality extras (the mean over the entry's tables), and per
resource ``datastore_active``, ``current_version``, ``row_count`` and ``quality_score``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from ckanapi import RemoteCKAN

from pubdata.standards import uscc_with_check
from pubdata.store import service
from pubdata.store.ingest import load as ingest
from pubdata.store.quality import checks as quality
from pubdata.store.schemas import TableCreate
from tests.builders import actor_of, make_entry, make_org, make_user

SCHEMA = {
    "fields": [
        {"name": "uscc", "type": "string", "semanticType": "uscc"},
        {"name": "start_date", "type": "date"},
        {"name": "end_date", "type": "date"},
    ],
    "primaryKey": "uscc",
}


class RemoteCKAN3(RemoteCKAN):
    base_url = "api/3/action/"


@pytest.fixture(scope="module")
def data(live_server, tmp_path_factory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("ckan-quality")
    home = live_server.settings.resolved_home
    with live_server.session() as s:
        org = make_org(s, "department", code="qd-scjgj-q", name="青岛市市场监督管理局")
        dept = actor_of(make_user(s, org, roles=["department"]))
        entry = make_entry(
            s,
            dept,
            code="QD-SCJGJ-Q001",
            title="企业经营期限",
            update_frequency="monthly",
            resources=[{"name": "说明文档", "format": "PDF"}],
        )
        rids = []
        for name in ("经营期限", "经营期限（分区）"):
            created = service.create_table(s, dept, entry.code, TableCreate(name=name, schema=SCHEMA))
            rids.append(created.resource_id)
        codes = [uscc_with_check(f"91370200MA{i:07d}") for i in range(20)]
        # the first table: one range ends before it starts (consistency 95)
        rows = [f"{c},2024-01-01,{'2023-12-31' if i == 0 else '2030-01-01'}" for i, c in enumerate(codes)]
        path = tmp / "a.csv"
        path.write_text("uscc,start_date,end_date\n" + "\n".join(rows) + "\n")
        ingest.ingest(s, dept, rids[0], path, home=home)
        # the second table: every range in order, 10 rows
        path = tmp / "b.csv"
        path.write_text("uscc,start_date,end_date\n" + "\n".join(f"{c},2024-01-01,2030-01-01" for c in codes[:10]))
        ingest.ingest(s, dept, rids[1], path, home=home)
        empty_entry = make_entry(s, dept, code="QD-SCJGJ-Q002", title="暂无数据的目录")
        service.create_table(s, dept, empty_entry.code, TableCreate(name="空表", schema=SCHEMA))
        doc_id = next(r.id for r in entry.resources if r.name == "说明文档")
        return {"entry": entry.name, "rids": rids, "doc": doc_id, "empty": empty_entry.name}


@pytest.fixture(scope="module")
def ckan(live_server) -> RemoteCKAN:
    return RemoteCKAN3(live_server.url + "/")


def _extras(package: dict[str, Any]) -> dict[str, str]:
    return {e["key"]: e["value"] for e in package["extras"]}


@pytest.mark.server
def test_package_show_carries_the_mean_quality_of_the_tables(ckan, data, live_server):
    package = ckan.action.package_show(id=data["entry"])
    extras = _extras(package)
    reports = [httpx.get(f"{live_server.url}/api/v1/resources/{rid}/quality").json() for rid in data["rids"]]
    assert extras["quality_tables"] == "2"
    assert extras["quality_consistency"] == "97.5"  # (95 + 100) / 2
    assert float(extras["quality_score"]) == pytest.approx((reports[0]["score"] + reports[1]["score"]) / 2, abs=0.01)
    for name in quality.DIMENSIONS:
        assert f"quality_{name}" in extras
    assert extras["quality_accuracy"] == "100"


@pytest.mark.server
def test_package_show_resources_say_which_are_in_the_datastore(ckan, data):
    package = ckan.action.package_show(id=data["entry"])
    by_id = {r["id"]: r for r in package["resources"]}
    first, second = (by_id[rid] for rid in data["rids"])
    assert (first["datastore_active"], first["current_version"], first["row_count"]) == (True, 1, 20)
    assert (second["datastore_active"], second["row_count"]) == (True, 10)
    assert first["quality_score"] < second["quality_score"]
    assert first["quality_url"].endswith(f"/api/v1/resources/{data['rids'][0]}/quality")
    doc = by_id[data["doc"]]
    assert doc["datastore_active"] is False and "quality_score" not in doc


@pytest.mark.server
def test_resource_show_carries_the_current_version_and_score(ckan, data, live_server):
    rid = data["rids"][0]
    resource = ckan.action.resource_show(id=rid)
    report = httpx.get(f"{live_server.url}/api/v1/resources/{rid}/quality").json()
    assert resource["datastore_active"] is True and resource["current_version"] == 1
    assert resource["row_count"] == 20 and resource["quality_score"] == report["score"]
    doc = ckan.action.resource_show(id=data["doc"])
    assert doc["datastore_active"] is False and "current_version" not in doc


@pytest.mark.server
def test_an_entry_without_published_versions_has_no_scores(ckan, data):
    package = ckan.action.package_show(id=data["empty"])
    extras = _extras(package)
    assert extras["quality_tables"] == "0" and extras["quality_score"] == ""
    (table,) = [r for r in package["resources"] if r["name"] == "空表"]
    assert table["datastore_active"] is False and table["current_version"] is None and table["row_count"] is None


def test_the_dict_builders_add_the_store_facts(session, as_actor, tmp_path):
    """package_show_dict / resource_show_dict in-process, over the same kind of data."""
    from pubdata.api.ckan import dicts
    from pubdata.catalog import service as catalog

    dept = as_actor("department")
    entry = make_entry(session, dept, update_frequency="monthly")
    rid = service.create_table(session, dept, entry.code, TableCreate(name="表", schema=SCHEMA)).resource_id
    codes = [uscc_with_check(f"91370200MA{i:07d}") for i in range(4)]
    path = tmp_path / "a.csv"
    path.write_text("uscc,start_date,end_date\n" + "\n".join(f"{c},2024-01-02,2024-01-01" for c in codes) + "\n")
    ingest.ingest(session, dept, rid, path, home=tmp_path / "home")
    visitor = as_actor("anonymous")
    package = dicts.package_show_dict(session, visitor, catalog.get_entry(session, visitor, entry.code), "http://x")
    extras = _extras(package)
    assert extras["quality_consistency"] == "0" and extras["quality_tables"] == "1"
    (table,) = [r for r in package["resources"] if r["id"] == rid]
    assert (table["datastore_active"], table["current_version"], table["row_count"]) == (True, 1, 4)
    resource = dicts.resource_show_dict(session, visitor, catalog.get_resource(session, visitor, rid), "http://x")
    assert resource["quality_score"] == table["quality_score"] == float(extras["quality_score"])
