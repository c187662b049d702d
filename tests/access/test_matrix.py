"""Who gets what, by every read path: roles × paths × open types. With no grant only the
publishing department and the operator (and everyone, for open data) get rows; a grant holder gets
its contract; every other combination gets nothing — and no path differs from another."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.access.people import grant, load_people
from tests.store.rows_fixture import load_table

PATHS = ("rows", "download", "sql", "datastore_search", "datastore_search_sql", "preview")
ROLES = ("anonymous", "enterprise", "bank", "grantee", "owner", "other_department", "operator", "regulator")
OPEN_TYPES = ("unconditional", "conditional", "closed")


def expected(role: str, open_type: str) -> bool:
    if open_type == "unconditional":
        return True
    if role in ("owner", "operator"):
        return True
    return role == "grantee" and open_type == "conditional"


def call(client: Any, path: str, rid: str, entry_name: str, headers: dict[str, str]) -> bool:
    """Whether rows came back on this path."""
    sql = f'SELECT * FROM "{rid}" LIMIT 3'
    if path == "rows":
        r = client.get(f"/api/v1/resources/{rid}/rows", params={"limit": 3}, headers=headers)
        return r.status_code == 200 and len(r.json()["records"]) > 0
    if path == "download":
        r = client.get(f"/api/v1/resources/{rid}/download.csv", headers=headers)
        return r.status_code == 200 and len(r.content.decode("utf-8-sig").splitlines()) > 1
    if path == "sql":
        r = client.post("/api/v1/sql", json={"sql": sql}, headers=headers)
        return r.status_code == 200 and len(r.json()["records"]) > 0
    if path == "datastore_search":
        r = client.post("/api/3/action/datastore_search", json={"resource_id": rid, "limit": 3}, headers=headers)
        return r.status_code == 200 and len(r.json()["result"]["records"]) > 0
    if path == "datastore_search_sql":
        r = client.post("/api/3/action/datastore_search_sql", json={"sql": sql}, headers=headers)
        return r.status_code == 200 and len(r.json()["result"]["records"]) > 0
    r = client.get(f"/dataset/{entry_name}/resource/{rid}", headers=headers)
    return r.status_code == 200 and 'id="rows-table"' in r.text


@pytest.fixture
def world(session, as_actor, settings, tmp_path, token_for):
    owner = as_actor("department")
    actors = {
        "enterprise": as_actor("enterprise"),
        "bank": as_actor("bank"),
        "grantee": as_actor("bank"),
        "owner": owner,
        "other_department": as_actor("department"),
        "operator": as_actor("operator"),
        "regulator": as_actor("regulator"),
    }
    tables = {}
    for open_type in OPEN_TYPES:
        if open_type == "conditional":
            people = load_people(session, owner, settings.home, tmp_path)
            grant(session, actors["grantee"], actors["operator"], people, ["district", "phone"])
            tables[open_type] = (people.resource_id, people.entry_name)
        else:
            loaded = load_table(session, owner, settings.home, tmp_path, open_type=open_type)
            tables[open_type] = (loaded.resource_id, loaded.entry_name)
    headers = {"anonymous": {}} | {
        role: {"Authorization": f"Bearer {token_for(actor, scopes=['read'])}"} for role, actor in actors.items()
    }
    return tables, headers


@pytest.mark.parametrize("open_type", OPEN_TYPES)
def test_every_role_on_every_path(client, world, open_type):
    tables, headers = world
    rid, entry_name = tables[open_type]
    got = {(role, path): call(client, path, rid, entry_name, headers[role]) for role in ROLES for path in PATHS}
    wrong = {k: v for k, v in got.items() if v != expected(k[0], open_type)}
    assert not wrong, f"{open_type}: unexpected outcomes {wrong}"


def test_the_grantee_sees_only_its_contract_everywhere(client, world):
    tables, headers = world
    rid, _ = tables["conditional"]
    h = headers["grantee"]
    rows = client.get(f"/api/v1/resources/{rid}/rows", params={"limit": 2}, headers=h).json()
    assert [f["name"] for f in rows["fields"]] == ["_id", "phone", "district"]
    assert all("****" in r["phone"] for r in rows["records"])
    sql = client.post("/api/v1/sql", json={"sql": f'SELECT * FROM "{rid}" LIMIT 2'}, headers=h).json()
    assert [f["name"] for f in sql["fields"]] == ["_id", "phone", "district"]
    ckan = client.post("/api/3/action/datastore_search", json={"resource_id": rid, "limit": 2}, headers=h).json()
    assert [f["id"] for f in ckan["result"]["fields"]] == ["_id", "phone", "district"]
    download = client.get(f"/api/v1/resources/{rid}/download.csv", headers=h).content.decode("utf-8-sig")
    header, first = list(csv.reader(io.StringIO(download)))[:2]
    assert header == ["phone", "district"] and "****" in first[0]
