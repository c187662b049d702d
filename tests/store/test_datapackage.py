"""datapackage.json is a valid Frictionless Tabular Data Package for every caller: tables the caller
may not read are left out of ``resources`` (a resource needs ``path`` or ``data``) and listed under
``x-unavailableResources``; a caller who may read none gets 403 with the reason.

The resource paths are URLs to the test server, so the descriptor's metadata is validated (offline),
not the data behind it."""

from typing import Any

import pytest
from frictionless import Package

from pubdata.store import service
from pubdata.store.ingest import load as ingest
from pubdata.store.schemas import TableCreate
from tests.access.people import grant, load_people
from tests.store.rows_fixture import SCHEMA, csv_text, load_table


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def valid(package: dict[str, Any]) -> dict[str, Any]:
    """The package passes frictionless's descriptor validation (JSON Schema profile and the rules the
    classes add, e.g. "path" or "data" required); returned for further checks."""
    errors = Package.metadata_validate(package)
    assert not list(errors), [e.message for e in Package.metadata_validate(package)]
    report = Package.validate_descriptor(package)
    assert report.valid, report.flatten(["type", "note"])
    return package


def get(client, entry_code: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/entries/{entry_code}/datapackage.json", headers=headers or {})


def download_paths(package: dict[str, Any]) -> dict[str, str]:
    return {r["x-resourceId"]: r["path"] for r in package["resources"]}


@pytest.mark.parametrize("signed_in", [False, True])
def test_open_table_is_a_valid_package_with_paths(client, session, as_actor, token_for, settings, tmp_path, signed_in):
    loaded = load_table(session, as_actor("department"), settings.home, tmp_path)
    headers = auth(token_for(as_actor("enterprise"))) if signed_in else {}
    r = get(client, loaded.entry_code, headers)
    assert r.status_code == 200, r.text
    package = valid(r.json())
    base = settings.resolved_base_url
    assert download_paths(package) == {loaded.resource_id: f"{base}/api/v1/resources/{loaded.resource_id}/download.csv"}
    assert package["homepage"].startswith(base + "/")
    assert "x-unavailableResources" not in package
    assert client.get(package["resources"][0]["path"].removeprefix(base)).status_code == 200


@pytest.mark.parametrize("open_type", ["conditional", "closed"])
@pytest.mark.parametrize("signed_in", [False, True])
def test_no_readable_table_is_403_in_chinese(
    client, session, as_actor, token_for, settings, tmp_path, open_type, signed_in
):
    loaded = load_table(session, as_actor("department"), settings.home, tmp_path, open_type=open_type)
    headers = auth(token_for(as_actor("enterprise"))) if signed_in else {}
    r = get(client, loaded.entry_code, headers)
    assert r.status_code == 403, r.text
    error = r.json()["error"]
    assert error["code"] == "store.datapackage_forbidden"
    assert error["message"].startswith("无权读取该数据：市场主体登记信息")
    assert [d["resource_id"] for d in error["details"]] == [loaded.resource_id]
    # the publisher still gets the package, with its paths
    owner = valid(get(client, loaded.entry_code, auth(token_for(loaded.owner))).json())
    assert set(download_paths(owner)) == {loaded.resource_id}


def test_conditional_entry_with_and_without_grant(client, session, as_actor, token_for, settings, tmp_path):
    owner, operator, grantee = as_actor("department"), as_actor("operator"), as_actor("bank")
    people = load_people(session, owner, settings.home, tmp_path)
    grant(session, grantee, operator, people, ["district", "phone"])
    # a second table of the same entry: published, but the grant does not cover it
    other = service.create_table(session, owner, people.entry_code, TableCreate(name="登记信息", schema=SCHEMA))
    path = tmp_path / "registry.csv"
    path.write_text(csv_text(5), encoding="utf-8")
    assert ingest.ingest(session, owner, other.resource_id, path, home=settings.home).state == "published"

    package = valid(get(client, people.entry_code, auth(token_for(grantee))).json())
    assert set(download_paths(package)) == {people.resource_id}
    (left_out,) = package["x-unavailableResources"]
    assert left_out["x-resourceId"] == other.resource_id and left_out["title"] == "登记信息"
    assert left_out["schema"]["fields"] and left_out["x-reasonCode"] == "no_access"
    assert "需申请并获批后使用" in left_out["x-reason"] and "path" not in left_out

    for outsider in ({}, auth(token_for(as_actor("bank")))):  # anonymous, and signed in without a grant
        r = get(client, people.entry_code, outsider)
        assert r.status_code == 403, r.text
        details = r.json()["error"]["details"]
        assert {d["resource_id"] for d in details} == {people.resource_id, other.resource_id}

    mine = valid(get(client, people.entry_code, auth(token_for(owner))).json())
    assert set(download_paths(mine)) == {people.resource_id, other.resource_id}
    assert "x-unavailableResources" not in mine


def test_a_table_without_a_published_version_is_listed_not_served(client, session, as_actor, settings, tmp_path):
    owner = as_actor("department")
    loaded = load_table(session, owner, settings.home, tmp_path)
    empty = service.create_table(session, owner, loaded.entry_code, TableCreate(name="待发布", schema=SCHEMA))
    package = valid(get(client, loaded.entry_code).json())
    assert set(download_paths(package)) == {loaded.resource_id}
    (left_out,) = package["x-unavailableResources"]
    assert left_out["x-resourceId"] == empty.resource_id and left_out["x-reasonCode"] == "no_version"


def test_an_entry_with_nothing_published_is_404(client, session, as_actor):
    from tests.builders import make_entry

    entry = make_entry(session, as_actor("department"))
    r = get(client, entry.code)
    assert r.status_code == 404 and r.json()["error"]["code"] == "store.datapackage_empty", r.text
