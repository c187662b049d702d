"""Who gets what, by every read path: roles × paths × open types.

Every route that can return anything derived from a table's rows is a path here, with the rule it
follows; ``test_every_route_is_classified`` fails on a route that is neither covered by a path nor
declared row-free, so a new route has to be classified before it ships.

The rules:

- ``rows`` (rows, aggregates, row counts of a plan, download links): with no grant only the
  publishing department and the operator (and everyone, for open data) get them; a grant holder gets
  its contract; every other combination gets nothing — and no path differs from another;
- ``values`` (quality reports): everyone who may see the entry gets counts and scores; a cell value
  (the newest date) only those who may read the whole table — open data, its department, the operator;
- ``publisher`` (rejected raw values, load jobs): the publishing department and the operator only,
  whatever the open type: never a grant holder or the public.

Besides what each path is expected to show, every response is searched for values that the caller
may not see: the ID numbers and raw phone numbers of the personal table (a grant holder sees the phone
masked), the credit codes of the closed table, and a rejected value planted in every table, which may
appear in its rejects file and nowhere else.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from pubdata.authz import SYSTEM
from pubdata.catalog import service as catalog
from pubdata.catalog.schemas import EntryUpdate
from pubdata.store.ingest import load as ingest
from pubdata.store.models import StoreJob
from tests.access import people as people_fixture
from tests.access.people import grant, load_people
from tests.builders import actor_of, make_org, make_user
from tests.policy.facts_builder import PACK, code, publish_facts
from tests.store import rows_fixture
from tests.store.rows_fixture import load_table
from tests.web.helpers import hidden_field, login

ROLES = ("anonymous", "enterprise", "bank", "grantee", "owner", "other_department", "operator", "regulator")
OPEN_TYPES = ("unconditional", "conditional", "closed")
WRITERS = ("owner", "other_department", "operator")  # roles whose tokens may also carry catalog:write


# --- the world ------------------------------------------------------------------------------------


@dataclass
class Table:
    open_type: str
    resource_id: str
    entry_name: str
    entry_code: str
    version: int  # the current version, which has one rejected row
    job_id: str  # a finished load job of that version
    dated: bool  # its quality report holds a cell value (timeliness worded from the newest date)
    rejected_value: str  # planted in the rejected row: may only appear in the rejects file
    secret_values: tuple[str, ...]  # cell values only whole-table readers may see


def _reload_with_a_rejected_row(
    session, owner, rid: str, home: Path, tmp_path: Path, header: str, rows: list[str], bad: str
):  # type: ignore[no-untyped-def]
    """Load the same rows again as the next version, plus one row that fails validation; and the
    finished job of that load, as the job runner would leave it."""
    path = tmp_path / f"v2-{rid}.csv"
    path.write_text("\n".join([header, *rows, bad]) + "\n", encoding="utf-8")
    result = ingest.ingest(session, owner, rid, path, home=home)
    assert result.state == "published" and result.rows_rejected == 1, result
    dated = "newest" in result.quality["dimensions"]["timeliness"]["evidence"]
    job = StoreJob(
        id=str(uuid.uuid4()), kind="ingest", resource_id=rid, state="succeeded", stage="完成", percent=100,
        source_name="v2.csv", source_path=str(path), bytes_received=path.stat().st_size,
        result=result.as_json(), created_by=owner.user_id, created_via="api",
    )  # fmt: skip
    session.add(job)
    session.flush()
    return result.version, job.id, dated


@dataclass
class World:
    tables: dict[str, Table]
    headers: dict[str, dict[str, str]]  # read-only tokens (what reading needs)
    write_headers: dict[str, dict[str, str]]  # the broadest tokens each role may hold (load jobs)
    actors: dict[str, Any]


@pytest.fixture
def world(session, as_actor, settings, tmp_path, token_for) -> World:  # type: ignore[no-untyped-def]
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
    home = settings.home
    tables = {}
    for open_type in OPEN_TYPES:
        planted = f"泄露探针-{open_type}-{uuid.uuid4().hex[:8]}"
        if open_type == "conditional":
            people = load_people(session, owner, home, tmp_path)
            grant(
                session, actors["grantee"], actors["operator"], people, ["district", "phone"],
                operator_terms={"privacy_budget": 50},
            )  # fmt: skip
            persons = [people_fixture.person(i) for i in range(30)]
            bad = {**people_fixture.person(99), "id_number": planted}
            version, job_id, dated = _reload_with_a_rejected_row(
                session, owner, people.resource_id, home, tmp_path, ",".join(people_fixture.SCHEMA_NAMES),
                [",".join(p.values()) for p in persons], ",".join(bad.values()),
            )  # fmt: skip
            secrets = tuple(p["id_number"] for p in persons) + tuple(p["phone"] for p in persons)
            rid, name, entry_code = people.resource_id, people.entry_name, people.entry_code
        else:
            loaded = load_table(session, owner, home, tmp_path, open_type=open_type)
            header, *rows = rows_fixture.csv_text().splitlines()
            version, job_id, dated = _reload_with_a_rejected_row(
                session, owner, loaded.resource_id, home, tmp_path, header, rows,
                f"{planted},探针公司,市南区,1.50,1,2020-01-01",
            )  # fmt: skip
            secrets = tuple(rows_fixture.CODES) if open_type == "closed" else ()
            rid, name, entry_code = loaded.resource_id, loaded.entry_name, loaded.entry_code
        # a declared frequency, so that timeliness is scored and worded from the newest date
        catalog.update_entry(session, owner, entry_code, EntryUpdate(update_frequency="monthly"))
        tables[open_type] = Table(open_type, rid, name, entry_code, version, job_id, dated, planted, secrets)
    headers = {"anonymous": {}} | {
        role: {"Authorization": f"Bearer {token_for(actor, scopes=['read'])}"} for role, actor in actors.items()
    }
    write_scopes = {role: ["read", "catalog:write"] if role in WRITERS else ["read"] for role in actors}
    write_headers = {"anonymous": {}} | {
        role: {"Authorization": f"Bearer {token_for(actor, scopes=write_scopes[role])}"}
        for role, actor in actors.items()
    }
    return World(tables, headers, write_headers, actors)


# --- the rules ------------------------------------------------------------------------------------


def reads_rows(role: str, open_type: str) -> bool:
    """Rows of the table, as a whole or under the grant's contract."""
    if open_type == "unconditional":
        return True
    if role in ("owner", "operator"):
        return True
    return role == "grantee" and open_type == "conditional"


def reads_whole_table(role: str, open_type: str) -> bool:
    """Every column and row unmasked: what a cell value outside a contract needs."""
    return open_type == "unconditional" or role in ("owner", "operator")


def is_publisher(role: str, open_type: str) -> bool:
    return role in ("owner", "operator")


RULES: dict[str, Callable[[str, str], bool]] = {
    "rows": reads_rows,
    "values": reads_whole_table,
    "publisher": is_publisher,
}


# --- the paths ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    text: str
    shows: bool  # whether what the rule governs came back


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _has_newest(report: dict[str, Any] | None) -> bool:
    timeliness = ((report or {}).get("dimensions") or {}).get("timeliness") or {}
    return "newest" in (timeliness.get("evidence") or {})


def _answer(r: Any, shows: Callable[[Any], bool]) -> Answer:
    text = r.content.decode("utf-8-sig", errors="replace")
    return Answer(r.status_code, text, r.status_code == 200 and bool(shows(r)))


def _ckan(
    client: TestClient, action: str, body: dict[str, Any], h: dict[str, str], shows: Callable[[Any], bool]
) -> Answer:
    r = client.post(f"/api/3/action/{action}", json=body, headers=h)
    return _answer(r, lambda r: shows(r.json()["result"]))


def _sql(t: Table) -> str:
    return f'SELECT * FROM "{t.resource_id}" LIMIT 3'


def _sandbox_body(role: str) -> dict[str, Any]:
    body: dict[str, Any] = {"measures": [{"fn": "count"}]}
    if role == "grantee":  # aggregates of personal data reach a grant holder only with differential privacy
        body["dp"] = {"epsilon": 1}
    return body


def _counted(groups: list[dict[str, Any]]) -> bool:
    return any(g.get("count") is not None for g in groups)


Call = Callable[[TestClient, Table, str, World], Answer]


def _rows(c: TestClient, t: Table, role: str, w: World) -> Answer:
    r = c.get(f"/api/v1/resources/{t.resource_id}/rows", params={"limit": 3}, headers=w.headers[role])
    return _answer(r, lambda r: len(r.json()["records"]) > 0)


def _download(c: TestClient, t: Table, role: str, w: World) -> Answer:
    r = c.get(f"/api/v1/resources/{t.resource_id}/download.csv", headers=w.headers[role])
    return _answer(r, lambda r: len(r.content.decode("utf-8-sig").splitlines()) > 1)


def _sql_post(c: TestClient, t: Table, role: str, w: World) -> Answer:
    r = c.post("/api/v1/sql", json={"sql": _sql(t)}, headers=w.headers[role])
    return _answer(r, lambda r: len(r.json()["records"]) > 0)


def _sql_get(c: TestClient, t: Table, role: str, w: World) -> Answer:
    r = c.get("/api/v1/sql", params={"sql": _sql(t)}, headers=w.headers[role])
    return _answer(r, lambda r: len(r.json()["records"]) > 0)


def _datastore_search(c: TestClient, t: Table, role: str, w: World) -> Answer:
    body = {"resource_id": t.resource_id, "limit": 3}
    return _ckan(c, "datastore_search", body, w.headers[role], lambda res: len(res["records"]) > 0)


def _datastore_search_sql(c: TestClient, t: Table, role: str, w: World) -> Answer:
    return _ckan(c, "datastore_search_sql", {"sql": _sql(t)}, w.headers[role], lambda res: len(res["records"]) > 0)


def _datastore_info(c: TestClient, t: Table, role: str, w: World) -> Answer:
    return _ckan(c, "datastore_info", {"id": t.resource_id}, w.headers[role], lambda res: res["meta"]["count"] > 0)


def _preview(c: TestClient, t: Table, role: str, w: World) -> Answer:
    r = c.get(f"/dataset/{t.entry_name}/resource/{t.resource_id}", headers=w.headers[role])
    return _answer(r, lambda r: 'id="rows-table"' in r.text)


def _sandbox(c: TestClient, t: Table, role: str, w: World) -> Answer:
    r = c.post(f"/api/v1/resources/{t.resource_id}/sandbox", json=_sandbox_body(role), headers=w.headers[role])
    return _answer(r, lambda r: _counted(r.json()["groups"]))


def _datapackage(c: TestClient, t: Table, role: str, w: World) -> Answer:
    r = c.get(f"/api/v1/entries/{t.entry_code}/datapackage.json", headers=w.headers[role])
    return _answer(r, lambda r: any("path" in res for res in r.json()["resources"]))


def _quality(c: TestClient, t: Table, role: str, w: World) -> Answer:
    r = c.get(f"/api/v1/resources/{t.resource_id}/quality", headers=w.headers[role])
    return _answer(r, lambda r: _has_newest(r.json()["report"]) or any(_has_newest(p) for p in r.json()["trend"]))


def _versions(c: TestClient, t: Table, role: str, w: World) -> Answer:
    r = c.get(f"/api/v1/resources/{t.resource_id}/versions", headers=w.headers[role])
    return _answer(r, lambda r: any(_has_newest(v["quality"]) for v in r.json()))


def _entry_page(c: TestClient, t: Table, role: str, w: World) -> Answer:
    r = c.get(f"/dataset/{t.entry_name}", headers=w.headers[role])
    return _answer(r, lambda r: "最新数据" in r.text)  # the timeliness sentence naming the newest value


def _package_show(c: TestClient, t: Table, role: str, w: World) -> Answer:
    return _ckan(c, "package_show", {"id": t.entry_name}, w.headers[role], lambda res: "newest" in json.dumps(res))


def _resource_show(c: TestClient, t: Table, role: str, w: World) -> Answer:
    return _ckan(c, "resource_show", {"id": t.resource_id}, w.headers[role], lambda res: "newest" in json.dumps(res))


def _rejects(c: TestClient, t: Table, role: str, w: World) -> Answer:
    r = c.get(f"/api/v1/resources/{t.resource_id}/versions/{t.version}/rejects.csv", headers=w.headers[role])
    return _answer(r, lambda r: t.rejected_value in r.content.decode("utf-8-sig"))


def _jobs(c: TestClient, t: Table, role: str, w: World) -> Answer:
    r = c.get(f"/api/v1/resources/{t.resource_id}/jobs", headers=w.write_headers[role])
    return _answer(r, lambda r: len(r.json()) > 0)


def _job(c: TestClient, t: Table, role: str, w: World) -> Answer:
    r = c.get(f"/api/v1/jobs/{t.job_id}", headers=w.write_headers[role])
    return _answer(r, lambda r: r.json()["result"] is not None)


def _job_page(c: TestClient, t: Table, role: str, w: World) -> Answer:
    r = c.get(f"/dataset/{t.entry_name}/resource/{t.resource_id}/upload/{t.job_id}", headers=w.write_headers[role])
    return _answer(r, lambda r: 'id="rows-rejected"' in r.text)


def _upload_page(c: TestClient, t: Table, role: str, w: World) -> Answer:
    r = c.get(f"/dataset/{t.entry_name}/resource/{t.resource_id}/upload", headers=w.write_headers[role])
    return _answer(r, lambda r: t.job_id in r.text)  # the recent jobs, linked


def _make_current(c: TestClient, t: Table, role: str, w: World) -> Answer:
    """Making the current version current again changes nothing, and answers with its report."""
    url = f"/api/v1/resources/{t.resource_id}/versions/{t.version}/current"
    r = c.post(url, headers=w.write_headers[role])
    return _answer(r, lambda r: r.json()["number"] == t.version)


@dataclass(frozen=True)
class Path_:
    rule: str
    call: Call
    routes: tuple[tuple[str, str], ...]  # (method, route path) this path exercises


CKAN_ROUTES = (("POST", "/api/3/action/{name}"),)
PATHS: dict[str, Path_] = {
    "rows": Path_("rows", _rows, (("GET", "/api/v1/resources/{resource_id}/rows"),)),
    "download": Path_("rows", _download, (("GET", "/api/v1/resources/{resource_id}/download.{fmt}"),)),
    "sql": Path_("rows", _sql_post, (("POST", "/api/v1/sql"),)),
    "sql_get": Path_("rows", _sql_get, (("GET", "/api/v1/sql"),)),
    "datastore_search": Path_("rows", _datastore_search, CKAN_ROUTES),
    "datastore_search_sql": Path_("rows", _datastore_search_sql, CKAN_ROUTES),
    "datastore_info": Path_("rows", _datastore_info, CKAN_ROUTES),
    "preview": Path_("rows", _preview, (("GET", "/dataset/{key}/resource/{resource_id}"),)),
    "sandbox": Path_("rows", _sandbox, (("POST", "/api/v1/resources/{resource_id}/sandbox"),)),
    "datapackage": Path_("rows", _datapackage, (("GET", "/api/v1/entries/{key}/datapackage.json"),)),
    "quality": Path_("values", _quality, (("GET", "/api/v1/resources/{resource_id}/quality"),)),
    "versions": Path_("values", _versions, (("GET", "/api/v1/resources/{resource_id}/versions"),)),
    "entry_page": Path_("values", _entry_page, (("GET", "/dataset/{key}"),)),
    "package_show": Path_("values", _package_show, CKAN_ROUTES),
    "resource_show": Path_("values", _resource_show, CKAN_ROUTES),
    "rejects": Path_(
        "publisher", _rejects, (("GET", "/api/v1/resources/{resource_id}/versions/{number}/rejects.csv"),)
    ),
    "jobs": Path_("publisher", _jobs, (("GET", "/api/v1/resources/{resource_id}/jobs"),)),
    "job": Path_("publisher", _job, (("GET", "/api/v1/jobs/{job_id}"),)),
    "job_page": Path_("publisher", _job_page, (("GET", "/dataset/{name}/resource/{rid}/upload/{job_id}"),)),
    "upload_page": Path_("publisher", _upload_page, (("GET", "/dataset/{name}/resource/{rid}/upload"),)),
    "make_current": Path_(
        "publisher", _make_current, (("POST", "/api/v1/resources/{resource_id}/versions/{number}/current"),)
    ),
}
# package_show and resource_show carry the quality score and the row count, never a cell value: the
# rule above is what would apply if they did; they are expected to show no value to anyone.
VALUE_FREE = {"package_show", "resource_show"}


def expected(path: str, role: str, t: Table) -> bool:
    if path in VALUE_FREE:
        return False
    if PATHS[path].rule == "values" and not t.dated:  # no value in the report, for anyone
        return False
    return RULES[PATHS[path].rule](role, t.open_type)


def leaked(t: Table, path: str, role: str, text: str) -> list[str]:
    """Values in the answer that this caller may not see on this path."""
    out = []
    if t.rejected_value in text and not (path == "rejects" and is_publisher(role, t.open_type)):
        out.append(t.rejected_value)
    if not reads_whole_table(role, t.open_type):
        out += [v for v in t.secret_values if v in text][:3]
    return out


# --- the matrix -----------------------------------------------------------------------------------


def test_every_role_on_every_path(client, world):
    """Every open type × role × path (one world: building it is most of the time)."""
    wrong, leaks = {}, {}
    for open_type, t in world.tables.items():
        for role in ROLES:
            for name, path in PATHS.items():
                answer = path.call(client, t, role, world)
                assert answer.status < 500, (open_type, role, name, answer.status, answer.text[:300])
                if answer.shows != expected(name, role, t):
                    wrong[(open_type, role, name)] = (answer.shows, answer.status)
                found = leaked(t, name, role, answer.text)
                if found:
                    leaks[(open_type, role, name)] = found
    assert not wrong, f"unexpected outcomes (shown, status) {wrong}"
    assert not leaks, f"values the caller may not see {leaks}"


def test_the_grantee_sees_only_its_contract_everywhere(client, world):
    t = world.tables["conditional"]
    h = world.headers["grantee"]
    rid = t.resource_id
    rows = client.get(f"/api/v1/resources/{rid}/rows", params={"limit": 2}, headers=h).json()
    assert [f["name"] for f in rows["fields"]] == ["_id", "phone", "district"]
    assert all("****" in r["phone"] for r in rows["records"])
    sql = client.post("/api/v1/sql", json={"sql": f'SELECT * FROM "{rid}" LIMIT 2'}, headers=h).json()
    assert [f["name"] for f in sql["fields"]] == ["_id", "phone", "district"]
    ckan = client.post("/api/3/action/datastore_search", json={"resource_id": rid, "limit": 2}, headers=h).json()
    assert [f["id"] for f in ckan["result"]["fields"]] == ["_id", "phone", "district"]
    info = client.post("/api/3/action/datastore_info", json={"id": rid}, headers=h).json()["result"]
    assert [f["id"] for f in info["fields"]] == ["phone", "district"] and info["meta"]["count"] == 30
    download = client.get(f"/api/v1/resources/{rid}/download.csv", headers=h).content.decode("utf-8-sig")
    header, first = list(csv.reader(io.StringIO(download)))[:2]
    assert header == ["phone", "district"] and "****" in first[0]


def test_the_portal_sandbox_follows_the_rows_rule(app, session, world):
    """The sandbox form posts through a signed-in session (with its CSRF token), not a bearer token:
    each role signs in once and runs a count on every table (the public is sent to sign in)."""
    wrong = {}
    for role in ROLES:
        with TestClient(app) as c:
            if role != "anonymous":
                assert login(c, world.actors[role].username).status_code == 303
            for open_type, t in world.tables.items():
                url = f"/dataset/{t.entry_name}/resource/{t.resource_id}/sandbox"
                page = c.get(url)
                form = {"fn": "count", "action": "run"}
                if role != "anonymous":
                    form["csrf_token"] = hidden_field(page.text, "csrf_token")
                if role == "grantee":
                    form["epsilon"] = "1"
                r = c.post(url, data=form, follow_redirects=False)
                assert r.status_code < 500, (role, open_type, r.text[:300])
                match = re.search(r'<script type="application/json" id="sandbox-data">(.*?)</script>', r.text, re.S)
                shown = r.status_code == 200 and match is not None and _counted(json.loads(match.group(1))["groups"])
                if shown != (role != "anonymous" and reads_rows(role, open_type)):
                    wrong[(role, open_type)] = (shown, r.status_code)
                assert not leaked(t, "sandbox_page", role, r.text), (role, open_type)
    assert not wrong, f"unexpected outcomes (shown, status) {wrong}"


# --- enterprise facts: derived from governed tables, read through one check ------------------------

FACT_ROLES = ("anonymous", "own_enterprise", "other_enterprise", "bank", "department", "operator", "regulator")
TARGET = code(31)
TARGET_NAME = "青岛矩阵探针跨境电商有限公司"
FACT_ROWS = [
    {"uscc": TARGET, "name": TARGET_NAME, "registered_district": "市南区", "has_independent_site": True,
     "cbec_export_amount": 30_000_000, "independent_site_investment": 300_000,
     "provincial_key_platform_2022": True, "cbec_import_export_amount": 30_000_000},
]  # fmt: skip

FACT_RULES: dict[str, tuple[str, ...]] = {
    "one": ("own_enterprise", "department", "operator", "regulator"),  # one enterprise's row
    "own": ("own_enterprise",),  # what the enterprise's own row gives it
    "reach": ("department", "operator", "regulator"),  # aggregates over every enterprise
    "matches": ("department", "operator"),  # every enterprise, one by one
}


def _names(r: Any) -> bool:
    return TARGET_NAME in r.text


def _has(element_id: str) -> Callable[[Any], bool]:
    return lambda r: f'id="{element_id}"' in r.text


@dataclass(frozen=True)
class FactPath:
    rule: str
    route: tuple[str, str]  # (method, route path): the URL is the path with TARGET and PACK filled in
    shows: Callable[[Any], bool]
    query: str = ""
    body: dict[str, Any] | None = None

    @property
    def url(self) -> str:
        path = self.route[1].format(uscc=TARGET, pack=PACK, pack_id=PACK)
        return f"{path}?{self.query}" if self.query else path


def _listed(r: Any) -> bool:
    return len(r.json()) > 0


FACT_PATHS: dict[str, FactPath] = {
    "facts_api": FactPath("one", ("GET", "/api/v1/enterprises/{uscc}/facts"), _names),
    "facts_page": FactPath("one", ("GET", "/enterprises/{uscc}"), _names),
    "my_facts_page": FactPath("own", ("GET", "/me/facts"), _names),
    "evaluate": FactPath("one", ("POST", "/api/v1/policies/{pack}/evaluate"), _names, body={"enterprise": TARGET}),
    "policy_page_mine": FactPath("own", ("GET", "/policies/{pack_id}"), _has("calc-result"), query="mine=1"),
    "reach_api": FactPath(
        "reach", ("GET", "/api/v1/policies/{pack}/reach"), lambda r: r.json()["eligible_enterprises"]
    ),
    "reach_page": FactPath("reach", ("GET", "/policies/{pack_id}/reach"), _has("figure-eligible")),
    "matches_api": FactPath("matches", ("GET", "/api/v1/policies/{pack}/matches"), _names),
    "matches_page": FactPath("matches", ("GET", "/policies/{pack_id}/matches"), _names),
    "my_policies_api": FactPath("own", ("GET", "/api/v1/me/policies"), _listed),
    "my_policies_page": FactPath("own", ("GET", "/me/policies"), _has("eligible")),
    "notices_api": FactPath("own", ("GET", "/api/v1/notices"), _listed),
    "notices_page": FactPath("own", ("GET", "/me/notices"), _has("notice-list")),
    "supplied_facts_api": FactPath(
        "one", ("GET", "/api/v1/enterprises/{uscc}/supplied-facts"), lambda r: r.json().get("uscc") == TARGET
    ),
    "tiers_api": FactPath("one", ("GET", "/api/v1/enterprises/{uscc}/tiers"), _names),
    "tiers_page": FactPath("one", ("GET", "/enterprises/{uscc}/tiers"), _names),
    "my_tiers_page": FactPath("own", ("GET", "/me/tiers"), _names),
}


@pytest.fixture
def facts_world(session, settings, as_actor, token_for) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    from pubdata.policy.matching import match

    publish_facts(session, settings.home, FACT_ROWS)
    match.match_pack(session, SYSTEM, PACK, home=settings.home)
    own = actor_of(make_user(session, make_org(session, "enterprise", uscc=TARGET), roles=["enterprise"]))
    actors = {
        "own_enterprise": own,
        "other_enterprise": as_actor("enterprise"),
        "bank": as_actor("bank"),
        "department": as_actor("department"),
        "operator": as_actor("operator"),
        "regulator": as_actor("regulator"),
    }
    return {"anonymous": {}} | {
        role: {"Authorization": f"Bearer {token_for(actor, scopes=['read'])}"} for role, actor in actors.items()
    }


def test_every_role_on_every_facts_path(client, facts_world):
    wrong, leaks = {}, {}
    for role in FACT_ROLES:
        for name, p in FACT_PATHS.items():
            r = client.request(p.route[0], p.url, json=p.body, headers=facts_world[role], follow_redirects=False)
            assert r.status_code < 500, (role, name, r.text[:300])
            shown = r.status_code == 200 and bool(p.shows(r))
            if shown != (role in FACT_RULES[p.rule]):
                wrong[(role, name)] = (shown, r.status_code)
            if TARGET_NAME in r.text and role not in FACT_RULES[p.rule]:
                leaks[(role, name)] = TARGET_NAME
    assert not wrong, f"unexpected outcomes (shown, status) {wrong}"
    assert not leaks, f"an enterprise's facts reached someone who may not read them {leaks}"


# --- every route is classified --------------------------------------------------------------------

# Routes that return something derived from rows but follow a rule tested elsewhere, with where.
COVERED_ELSEWHERE: dict[tuple[str, str], str] = {
    # a verification product's match / no match: only under the buyer's own verify grant, which yields
    # no rows on any other path (tests/market/test_orders.py, tests/market/test_orders_api.py)
    ("POST", "/api/v1/market/products/{product}/verify"): "verification answers",
    # the portal's 核验 form: the same service, the buyer's own verify grant (tests/web/test_market_order_pages.py)
    ("POST", "/market/orders/{order_id}/verify"): "verification answers",
    # a report product's PDF: a document its provider wrote, reviewed with the listing; downloaded only
    # by the provider, the operator and a buyer with an active entitlement (tests/market/test_reports.py)
    ("GET", "/api/v1/market/products/{product_id}/reports/{file_id}"): "report files",
    ("POST", "/api/v1/market/products/{product_id}/reports"): "report files",
    ("DELETE", "/api/v1/market/products/{product_id}/reports/{file_id}"): "report files",
    # the same on the product page (tests/web/test_market_report_pages.py)
    ("GET", "/market/products/{product_id}/reports/{file_id}"): "report files",
    # Delta Sharing: a query hands out a pre-signed file of the recipient's read plan (grant view or open
    # data), and the file URL serves it; every role, revoked and expired profiles, tampered and expired
    # URLs are tested in tests/sharing/test_sharing_service.py and tests/sharing/test_protocol_client.py
    ("POST", "/delta-sharing/shares/{share}/schemas/{schema}/tables/{table}/query"): "Delta Sharing query",
    ("GET", "/delta-sharing/files/{key}.parquet"): "Delta Sharing pre-signed files",
    ("POST", "/market/products/{product_id}/reports"): "report files",
    ("POST", "/market/products/{product_id}/reports/{file_id}/remove"): "report files",
    # policy applications keep a snapshot of the applicant's facts: the applicant, the reviewer the
    # application is routed to and oversight (tests/policy/test_applications*.py, tests/web/test_application_pages.py)
    ("GET", "/api/v1/applications"): "applications",
    ("GET", "/api/v1/applications/{application_id}"): "applications",
    ("POST", "/api/v1/policies/{pack}/clauses/{clause}/applications"): "applications",
    ("PATCH", "/api/v1/applications/{application_id}"): "applications",
    ("POST", "/api/v1/applications/{application_id}/submit"): "applications",
    ("POST", "/api/v1/applications/{application_id}/resubmit"): "applications",
    ("POST", "/api/v1/applications/{application_id}/withdraw"): "applications",
    ("POST", "/api/v1/applications/{application_id}/approve"): "applications",
    ("POST", "/api/v1/applications/{application_id}/reject"): "applications",
    ("POST", "/api/v1/applications/{application_id}/return"): "applications",
    ("POST", "/api/v1/applications/{application_id}/disburse"): "applications",
    ("POST", "/api/v1/applications/{application_id}/materials"): "applications",
    # every job of every kind, load reports and errors included: the operator and administrators only
    # (platform:jobs:manage), tested in tests/test_jobs_api.py
    ("GET", "/api/v1/jobs"): "jobs (the operator)",
    ("POST", "/api/v1/jobs"): "jobs (the operator)",
    ("POST", "/api/v1/jobs/{job_id}/requeue"): "jobs (the operator)",
    ("GET", "/jobs"): "jobs (the operator, portal)",
    ("POST", "/jobs"): "jobs (the operator, portal)",
    ("POST", "/jobs/{job_id}/requeue"): "jobs (the operator, portal)",
    ("GET", "/api/v1/applications/{application_id}/materials/{material_id}"): "applications",
    ("GET", "/policies/{pack_id}/apply/{clause_id}"): "applications (the form shows the enterprise's own facts)",
    ("POST", "/policies/{pack_id}/apply/{clause_id}"): "applications",
    ("GET", "/me/applications"): "applications",
    ("GET", "/review/applications"): "applications",
    ("GET", "/applications/{application_id}"): "applications",
    ("POST", "/applications/{application_id}/materials"): "applications",
    ("POST", "/applications/{application_id}/{action}"): "applications",
    # one's own notices, one by one (tests/policy/test_match_api.py, tests/policy/test_match_pages.py)
    ("GET", "/api/v1/notices/{notice_id:int}"): "own notices",
    ("POST", "/api/v1/notices/{notice_id:int}/read"): "own notices",
    ("GET", "/me/notices/{notice_id}"): "own notices",
    ("POST", "/me/notices/{notice_id}/read"): "own notices",
    # a match run answers with its counts (operator; tests/policy/test_match_api.py)
    ("POST", "/api/v1/policies/{pack}/match"): "match run",
    ("POST", "/policies/{pack_id}/match"): "match run",
    # supplying one's own enterprise-supplied facts: only its own users (tests/enterprise/test_supplied_facts.py,
    # tests/web/test_tier_page.py); the answer is what the enterprise supplied, and its tiers page
    ("POST", "/api/v1/enterprises/{uscc}/supplied-facts"): "supplied facts",
    ("POST", "/enterprises/{uscc}/tiers"): "supplied facts (redirects to the tier page)",
    # credit scores: the enterprise's own users and the operator; a bank only through the report under a
    # live consent (tests/finance/test_credit_api.py, test_report.py, tests/web/test_credit_pages.py)
    ("GET", "/api/v1/credit/{uscc}"): "credit score",
    ("GET", "/api/v1/credit/{uscc}/report"): "credit report under consent",
    ("GET", "/api/v1/credit/score-runs"): "score runs: counts and grade distributions (operator)",
    ("POST", "/api/v1/credit/score-runs"): "score runs: counts and grade distributions (operator)",
    ("GET", "/api/v1/credit/models"): "model versions and their metrics (operator)",
    ("POST", "/api/v1/credit/models/fit"): "model versions and their metrics (operator)",
    ("GET", "/credit"): "credit score (the enterprise's own; redirects)",
    ("GET", "/credit/{uscc}"): "credit score",
    ("GET", "/credit/models"): "model versions and their metrics (operator)",
    ("GET", "/finance/report"): "credit report under consent (the bank's consents)",
    ("GET", "/finance/report/{uscc}"): "credit report under consent",
    # 银企直通车: matches show the enterprise's own facts; an application's eligibility snapshot only to
    # the enterprise, the bank under a live consent, and oversight; the dashboard folds small groups
    # (tests/finance/test_loans.py, tests/web/test_finance_pages.py, tests/e2e/test_finance_flow.py)
    ("GET", "/api/v1/enterprises/{uscc}/loan-matches"): "loan matches",
    ("GET", "/api/v1/loan-applications"): "loan applications",
    ("POST", "/api/v1/loan-applications"): "loan applications",
    ("GET", "/api/v1/loan-applications/{application_id}"): "loan applications",
    ("POST", "/api/v1/loan-applications/{application_id}/steps"): "loan applications",
    ("POST", "/api/v1/loan-applications/{application_id}/withdraw"): "loan applications",
    ("GET", "/api/v1/finance/dashboard"): "loan aggregates",
    ("GET", "/finance/products"): "loan matches",
    ("POST", "/finance/products/{product_id}/apply"): "loan applications",
    ("GET", "/finance/applications"): "loan applications",
    ("GET", "/finance/applications/{application_id}"): "loan applications",
    ("POST", "/finance/applications/{application_id}/steps/{action}"): "loan applications",
    ("POST", "/finance/applications/{application_id}/withdraw"): "loan applications",
    ("GET", "/finance/pipeline"): "loan applications",
    ("GET", "/finance/dashboard"): "loan aggregates",
}

# Routes that return nothing derived from any row: catalogue metadata, schemas, identities, access
# contracts, audit records (digests and counts, never values), counts of one's own notices.
ROW_FREE: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/openapi.json"): "API description",
    ("GET", "/openapi.json"): "API description (the same document)",
    ("GET", "/redoc"): "API documentation",
    ("GET", "/docs"): "API documentation",
    ("GET", "/static"): "static files",
    ("GET", "/api/v1/entries"): "catalogue",
    ("GET", "/api/v1/facets"): "catalogue",
    ("POST", "/api/v1/entries"): "catalogue",
    ("GET", "/api/v1/entries/{key}"): "catalogue",
    ("PATCH", "/api/v1/entries/{key}"): "catalogue",
    ("DELETE", "/api/v1/entries/{key}"): "catalogue",
    ("GET", "/api/v1/entries/{key}/revisions"): "catalogue",
    ("GET", "/api/v1/resources/{resource_id}"): "catalogue",
    ("GET", "/api/v1/vocabularies"): "catalogue",
    ("GET", "/api/v1/stats"): "catalogue counts",
    ("GET", "/api/v1/organisations"): "identity",
    ("GET", "/api/v1/organisations/{code}"): "identity",
    ("GET", "/api/v1/me"): "identity",
    ("GET", "/api/v1/tokens"): "identity",
    ("POST", "/api/v1/tokens"): "identity",
    ("DELETE", "/api/v1/tokens/{token_id}"): "identity",
    ("GET", "/api/v1/sharing/profiles"): "identity (Delta Sharing profiles)",
    ("POST", "/api/v1/sharing/profiles"): "identity (Delta Sharing profiles)",
    ("DELETE", "/api/v1/sharing/profiles/{profile_id}"): "identity (Delta Sharing profiles)",
    ("GET", "/user/sharing"): "identity (Delta Sharing profiles, portal)",
    ("POST", "/user/sharing"): "identity (Delta Sharing profiles, portal)",
    ("POST", "/user/sharing/{profile_id}/revoke"): "identity (Delta Sharing profiles, portal)",
    # the protocol's listings name only tables the recipient may read; metadata is the schema as seen
    ("GET", "/delta-sharing/shares"): "Delta Sharing share names",
    ("GET", "/delta-sharing/shares/{share}"): "Delta Sharing share names",
    ("GET", "/delta-sharing/shares/{share}/schemas"): "Delta Sharing schema names (readable tables only)",
    ("GET", "/delta-sharing/shares/{share}/schemas/{schema}/tables"): "Delta Sharing table names (readable only)",
    ("GET", "/delta-sharing/shares/{share}/all-tables"): "Delta Sharing table names (readable only)",
    ("GET", "/delta-sharing/shares/{share}/schemas/{schema}/tables/{table}/version"): "a version number",
    ("GET", "/delta-sharing/shares/{share}/schemas/{schema}/tables/{table}/metadata"): "the schema as seen",
    ("GET", "/api/v1/oauth-clients"): "identity",
    ("POST", "/api/v1/oauth-clients"): "identity",
    ("DELETE", "/api/v1/oauth-clients/{client_id}"): "identity",
    ("POST", "/oauth/token"): "identity",
    ("POST", "/api/v1/entries/{key}/resources"): "a new table's schema",
    ("POST", "/api/v1/resources/{resource_id}/schema"): "the schema given to the resource's new table",
    ("GET", "/api/v1/resources/{resource_id}/schema"): "the table's schema",
    ("POST", "/api/v1/resources/{resource_id}/versions"): "the queued job (no result yet)",
    ("GET", "/api/v1/audit"): "audit records",
    ("GET", "/api/v1/audit/verify"): "audit chain",
    ("GET", "/api/v1/audit/checkpoint"): "audit chain (a signed head)",
    ("GET", "/api/v1/audit/export.{fmt}"): "audit records",
    ("POST", "/api/v1/resources/{resource_id}/access-requests"): "access contracts",
    ("GET", "/api/v1/access/requests"): "access contracts",
    ("GET", "/api/v1/access/requests/{request_id}"): "access contracts",
    ("POST", "/api/v1/access/requests/{request_id}/decisions"): "access contracts",
    ("POST", "/api/v1/access/requests/{request_id}/withdraw"): "access contracts",
    ("GET", "/api/v1/access/grants"): "access contracts (usage counters)",
    ("POST", "/api/v1/access/grants/{grant_id}/revoke"): "access contracts",
    ("GET", "/api/v1/zones"): "zones",
    ("GET", "/api/v1/zones/{code}"): "zones",
    ("POST", "/api/v1/zones/{code}/applications"): "zones",
    ("GET", "/api/v1/zones/{code}/members"): "zones",
    ("POST", "/api/v1/zones/{code}/members/{member_id}/decision"): "zones",
    ("POST", "/api/v1/zones/{code}/entries"): "zones",
    ("GET", "/api/v1/policies"): "policy texts",
    ("GET", "/api/v1/policies/{pack}"): "policy texts",
    ("GET", "/api/v1/policy-reviewers"): "reviewer routing",
    ("PUT", "/api/v1/policy-reviewers/{district}"): "reviewer routing",
    ("GET", "/api/v1/notices/unread-count"): "a count of one's own notices",
    ("POST", "/api/v1/notices/read-all"): "a count of one's own notices",
    ("GET", "/api/v1/facts"): "the fact catalogue (definitions)",
    ("GET", "/api/v1/facts/versions"): "facts versions (numbers and counts)",
    ("POST", "/api/v1/facts/build"): "facts versions (numbers and counts)",
    ("GET", "/catalog.ttl"): "DCAT",
    ("GET", "/dataset/{name}.ttl"): "DCAT",
    ("GET", "/catalog.jsonld"): "DCAT",
    ("GET", "/dataset/{name}.jsonld"): "DCAT",
    ("GET", "/catalog.rdf"): "DCAT",
    ("GET", "/dataset/{name}.rdf"): "DCAT",
    ("GET", "/catalog.xml"): "DCAT",
    ("GET", "/dataset/{name}.xml"): "DCAT",
    ("GET", "/api/3/action/{name}"): "CKAN GET: the same actions as POST (classified by action below)",
    ("GET", "/api/action/{name}"): "CKAN, unversioned path (the same actions)",
    ("POST", "/api/action/{name}"): "CKAN, unversioned path (the same actions)",
    ("GET", "/"): "portal home: catalogue counts",
    ("GET", "/dataset"): "catalogue search",
    ("GET", "/user/login"): "sign-in",
    ("POST", "/user/login"): "sign-in",
    ("POST", "/user/logout"): "sign-in",
    ("GET", "/user/me"): "account",
    ("GET", "/zones"): "zones",
    ("GET", "/zones/{code}"): "zones",
    ("POST", "/zones/{code}/apply"): "zones",
    ("POST", "/zones/{code}/members/{member_id}"): "zones",
    ("GET", "/policies"): "policy texts",
    ("GET", "/applications/review-count"): "a count",
    ("GET", "/me/notices/count"): "a count of one's own notices",
    ("POST", "/me/notices/read-all"): "a count of one's own notices",
    ("GET", "/enterprises"): "the lookup form (redirects to /enterprises/{uscc})",
    ("GET", "/dataset/{name}/resource/{rid}/sandbox"): "the sandbox form (the table's schema)",
    ("POST", "/dataset/{name}/resource/{rid}/upload"): "an upload (redirects to the job)",
    ("POST", "/dataset/{name}/resource/{rid}/schema"): "the schema given to the resource's new table",
    ("GET", "/audit"): "audit records",
    ("GET", "/dataset/{name}/resource/{rid}/request"): "access contracts",
    ("POST", "/dataset/{name}/resource/{rid}/request"): "access contracts",
    ("GET", "/access/requests"): "access contracts",
    ("GET", "/access/review-count"): "a count",
    ("GET", "/access/requests/{request_id}"): "access contracts",
    ("POST", "/access/requests/{request_id}/decision"): "access contracts",
    ("POST", "/access/requests/{request_id}/withdraw"): "access contracts",
    ("GET", "/access/grants"): "access contracts",
    ("POST", "/access/grants/{grant_id}/revoke"): "access contracts",
    ("GET", "/api/v1/consents"): "consents (who may read which sections)",
    ("POST", "/api/v1/consents"): "consents",
    ("GET", "/api/v1/consents/options"): "consents (the sections and purposes)",
    ("GET", "/api/v1/consents/{consent_id}"): "consents",
    ("POST", "/api/v1/consents/{consent_id}/revoke"): "consents",
    ("GET", "/api/v1/consents/{consent_id}/uses"): "audit records of reads under a consent",
    ("GET", "/finance"): "redirects to the role's page",
    ("GET", "/finance/consents"): "consents",
    ("POST", "/finance/consents"): "consents",
    ("GET", "/finance/consents/{consent_id}"): "consents and the audit records of their uses",
    ("POST", "/finance/consents/{consent_id}/revoke"): "consents",
    ("GET", "/api/v1/loan-products"): "loan products (a bank's offer)",
    ("POST", "/api/v1/loan-products"): "loan products",
    ("GET", "/api/v1/loan-products/{product_id}"): "loan products",
    ("PUT", "/api/v1/loan-products/{product_id}"): "loan products",
    ("POST", "/api/v1/loan-products/{product_id}/publish"): "loan products",
    ("POST", "/api/v1/loan-products/{product_id}/withdraw"): "loan products",
    ("GET", "/finance/bank/products"): "loan products",
    ("GET", "/finance/bank/products/new"): "loan products",
    ("POST", "/finance/bank/products/new"): "loan products",
    ("GET", "/finance/bank/products/{product_id}"): "loan products",
    ("POST", "/finance/bank/products/{product_id}"): "loan products",
    ("POST", "/finance/bank/products/{product_id}/{state}"): "loan products",
    ("GET", "/finance/loan-inputs"): "the names a loan rule may use (definitions)",
    # the data market's products: listing fields, contract templates, price plans and the listing
    # history; a product's ``sample`` is text its provider wrote, never rows (tests/market/)
    ("GET", "/api/v1/market/products"): "data products (listing text, contract templates, prices)",
    ("POST", "/api/v1/market/products"): "data products",
    ("GET", "/api/v1/market/products/{product_id}"): "data products",
    ("PUT", "/api/v1/market/products/{product_id}"): "data products",
    ("POST", "/api/v1/market/products/{product_id}/plans"): "price plans",
    ("PUT", "/api/v1/market/plans/{plan_id}"): "price plans",
    ("POST", "/api/v1/market/plans/{plan_id}/deactivate"): "price plans",
    ("POST", "/api/v1/market/products/{product_id}/submit"): "the listing lifecycle",
    ("POST", "/api/v1/market/products/{product_id}/review"): "the listing lifecycle",
    ("POST", "/api/v1/market/products/{product_id}/list"): "the listing lifecycle",
    ("POST", "/api/v1/market/products/{product_id}/suspend"): "the listing lifecycle",
    ("POST", "/api/v1/market/products/{product_id}/resume"): "the listing lifecycle",
    ("POST", "/api/v1/market/products/{product_id}/delist"): "the listing lifecycle",
    ("GET", "/api/v1/market/price-list"): "the public price list (plans and fee ceilings)",
    ("GET", "/api/v1/market/products/{product_id}/reports"): "a report's file names, sizes and digests",
    ("GET", "/market"): "data products (portal list)",
    ("GET", "/market/prices"): "the public price list (portal)",
    ("GET", "/market/products/{product_id}"): "a data product's page: listing text, contract summary, plans",
    ("GET", "/market/mine"): "one's own organisation's data products",
    ("POST", "/market/mine/{product_id}/submit"): "the listing lifecycle",
    ("GET", "/market/review"): "the operator's listing review",
    ("POST", "/market/review/{product_id}/{action}"): "the listing lifecycle",
    # the portal's orders, payments, refunds, settlement, statements and the trading dashboard: money,
    # states and call counts, never rows (tests/web/test_market_order_pages.py)
    ("POST", "/market/products/{product_id}/order"): "orders",
    ("GET", "/market/orders"): "orders (with usage counts against the quota)",
    ("GET", "/market/orders/review"): "the provider's review of declared uses",
    ("GET", "/market/orders/{order_id}"): "orders (with usage counts against the quota)",
    ("POST", "/market/orders/{order_id}/bills/{bill_id}/pay"): "payments",
    ("POST", "/market/orders/{order_id}/cancel"): "orders",
    ("POST", "/market/orders/{order_id}/review"): "orders",
    ("GET", "/market/finance"): "payments, refunds, settlement runs and the trial balance",
    ("POST", "/market/finance/payments/{payment_id}/decision"): "payments",
    ("POST", "/market/finance/bills/{bill_id}/refund"): "refunds",
    ("POST", "/market/finance/settlements"): "the monthly settlement (amounts per party)",
    ("GET", "/market/finance/statements/{organisation_id}"): "ledger statements (amounts in fen)",
    ("GET", "/market/statement"): "ledger statements (amounts in fen)",
    ("GET", "/market/dashboard"): "trading aggregates (counts and amounts by month, scenario, party)",
    # orders, bills, payments, refunds, settlement runs and ledger statements: money and the order's
    # terms, never rows (tests/market/test_orders*.py, tests/market/test_settlement.py)
    ("POST", "/api/v1/market/orders"): "orders",
    ("GET", "/api/v1/market/orders"): "orders",
    ("GET", "/api/v1/market/orders/{order_id}"): "orders (with usage counts against the quota)",
    ("POST", "/api/v1/market/orders/{order_id}/review"): "orders",
    ("POST", "/api/v1/market/orders/{order_id}/cancel"): "orders",
    ("GET", "/api/v1/market/bills"): "bills and invoices",
    ("GET", "/api/v1/market/bills/{bill_id}"): "bills and invoices",
    ("POST", "/api/v1/market/bills/{bill_id}/payments"): "payments",
    ("GET", "/api/v1/market/payments"): "payments",
    ("POST", "/api/v1/market/payments/{payment_id}/decision"): "payments",
    ("POST", "/api/v1/market/bills/{bill_id}/refunds"): "refunds",
    ("POST", "/api/v1/market/settlements"): "the monthly settlement (amounts per party)",
    ("GET", "/api/v1/market/settlements"): "the monthly settlement",
    ("GET", "/api/v1/market/settlements/{month}"): "the monthly settlement",
    ("GET", "/api/v1/ledger/statements/{organisation_id}"): "ledger statements (amounts in fen)",
    ("GET", "/api/v1/ledger/trial-balance"): "the trial balance",
    # the data-asset registry: registrations (what is registered, its sources, the fingerprint — a hash,
    # never rows), their review, objections, certificates and verification (tests/assets/registry/)
    ("GET", "/api/v1/registry/registrations"): "registrations (registered facts, no rows)",
    ("POST", "/api/v1/registry/registrations"): "registration applications",
    ("GET", "/api/v1/registry/registrations/{registration_id}"): "registrations",
    ("POST", "/api/v1/registry/chain-applications"): "registration applications",
    ("POST", "/api/v1/registry/registrations/{registration_id}/resubmit"): "registration applications",
    ("POST", "/api/v1/registry/registrations/{registration_id}/accept"): "the registration review",
    ("POST", "/api/v1/registry/registrations/{registration_id}/formal-review"): "the registration review",
    ("POST", "/api/v1/registry/registrations/{registration_id}/objections"): "objections",
    ("POST", "/api/v1/registry/objections/{objection_id}/resolve"): "objections",
    ("POST", "/api/v1/registry/registrations/{registration_id}/register"): "the registration review",
    ("GET", "/api/v1/registry/verify/{code}"): "public certificate verification",
    ("GET", "/api/v1/registry/certificates/{code}.pdf"): "the certificate as a PDF",
    ("GET", "/registry"): "registrations (portal list)",
    ("GET", "/registry/registrations/{registration_id}"): "a registration's page",
    ("POST", "/registry/registrations/{registration_id}/objections"): "objections",
    ("POST", "/registry/registrations/{registration_id}/resubmit"): "registration applications",
    ("POST", "/registry/registrations/{registration_id}/chain"): "registration applications",
    ("POST", "/registry/registrations/{registration_id}/{action}"): "the registration review",
    ("GET", "/registry/apply"): "the application form",
    ("POST", "/registry/apply"): "registration applications",
    ("GET", "/registry/review"): "the registrar's queue",
    ("POST", "/registry/review/{registration_id}/{action}"): "the registration review",
    ("POST", "/registry/objections/{objection_id}/{action}"): "objections",
    ("GET", "/registry/certificates/{code}"): "the printable certificate",
    ("GET", "/registry/verify"): "public certificate verification",
    ("GET", "/registry/verify/{code}"): "public certificate verification",
    # data trusts: parties, shares, registration codes, fee, term and distributions in fen — no table
    # rows; a trust is read by its parties and oversight only (tests/assets/trusts/)
    ("GET", "/api/v1/trusts"): "data trusts (parties, shares, entrusted registration codes)",
    ("POST", "/api/v1/trusts"): "data trusts",
    ("GET", "/api/v1/trusts/{trust_id}"): "data trusts",
    ("PUT", "/api/v1/trusts/{trust_id}"): "data trusts",
    ("POST", "/api/v1/trusts/{trust_id}/approve"): "the trust lifecycle",
    ("POST", "/api/v1/trusts/{trust_id}/terminate"): "the trust lifecycle",
    ("GET", "/api/v1/trusts/{trust_id}/distributions"): "a trust's distributions (amounts in fen)",
    ("GET", "/trusts"): "data trusts (portal list)",
    ("GET", "/trusts/new"): "the trust form (organisation names, one's own registration codes)",
    ("POST", "/trusts/new"): "data trusts",
    ("GET", "/trusts/{trust_id}"): "a trust's page: parties, shares, certificates' public data, distributions",
    ("POST", "/trusts/{trust_id}/approve"): "the trust lifecycle",
    ("POST", "/trusts/{trust_id}/terminate"): "the trust lifecycle",
    ("GET", "/trusts/{trust_id}/edit"): "the trust form",
    ("POST", "/trusts/{trust_id}/edit"): "data trusts",
    # appraisal reports: figures in fen and coefficients with their evidence text, the registration
    # code, a quality report's scores (no values) and settled transactions' amounts — no table rows;
    # read by the agency, the holder (once signed) and oversight only (tests/assets/valuation/)
    ("GET", "/api/v1/appraisals"): "appraisal reports (summaries)",
    ("POST", "/api/v1/appraisals"): "appraisal reports",
    ("GET", "/api/v1/appraisals/{code}"): "appraisal reports (inputs, evidence, results)",
    ("PUT", "/api/v1/appraisals/{code}"): "appraisal reports",
    ("PUT", "/api/v1/appraisals/{code}/cost"): "appraisal reports",
    ("GET", "/api/v1/appraisals/{code}/quality"): "a quality report's dimension scores (no values)",
    ("PUT", "/api/v1/appraisals/{code}/income"): "appraisal reports",
    ("PUT", "/api/v1/appraisals/{code}/market"): "appraisal reports (settled transactions' amounts)",
    ("DELETE", "/api/v1/appraisals/{code}/methods/{method}"): "appraisal reports",
    ("PUT", "/api/v1/appraisals/{code}/reconciliation"): "appraisal reports",
    ("PUT", "/api/v1/appraisals/{code}/classification"): "appraisal reports",
    ("POST", "/api/v1/appraisals/{code}/sign"): "the appraisal lifecycle",
    ("POST", "/api/v1/appraisals/{code}/withdraw"): "the appraisal lifecycle",
    ("GET", "/appraisals"): "appraisal reports (portal list)",
    ("GET", "/appraisals/new"): "the appraisal form",
    ("POST", "/appraisals/new"): "appraisal reports",
    ("GET", "/appraisals/{code}"): "an appraisal report's page (and the agency's forms, settled transactions)",
    ("GET", "/appraisals/{code}/print"): "the printable appraisal report",
    ("POST", "/appraisals/{code}/{step}"): "appraisal reports",
}

# Covered by their own tests in this module rather than by PATHS.
OTHER_MATRIX_ROUTES = {
    ("POST", "/dataset/{name}/resource/{rid}/sandbox"): "test_the_portal_sandbox_follows_the_rows_rule"
}

CKAN_IN_MATRIX = {name for name in PATHS if name.startswith(("datastore_", "package_show", "resource_show"))}
CKAN_ROW_FREE = {
    "status_show", "help_show", "package_list", "package_search", "organization_list", "organization_show",
    "group_list", "group_show", "tag_list",
}  # fmt: skip


def app_routes(app: Any) -> set[tuple[str, str]]:
    out = set()
    for route in iter_route_contexts(app.routes):
        methods = set(route.methods or {"GET"}) - {"HEAD", "OPTIONS"}
        for method in methods:
            out.add((method, route.path or ""))
    return out


def test_every_route_is_classified(app):
    """A route that can return row-derived data must be a path of a matrix above; anything else must
    be declared row-free (or covered elsewhere, with where). A new route fails here until classified."""
    in_matrix = {route for p in PATHS.values() for route in p.routes}
    in_matrix |= {p.route for p in FACT_PATHS.values()} | set(OTHER_MATRIX_ROUTES)
    classified = [in_matrix, set(COVERED_ELSEWHERE), set(ROW_FREE)]
    routes = app_routes(app)
    unclassified = routes - set().union(*classified)
    assert not unclassified, (
        "routes in no list: add each to a matrix path if it can return anything derived from rows, "
        f"otherwise to ROW_FREE with the reason: {sorted(unclassified)}"
    )
    twice = [r for r in routes if sum(r in c for c in classified) > 1]
    assert not twice, f"routes in more than one list: {twice}"
    stale = set().union(*classified) - routes
    assert not stale, f"listed routes that no longer exist: {sorted(stale)}"


def test_every_ckan_action_is_classified():
    from pubdata.api.ckan import actions

    assert set(actions.ACTIONS) == CKAN_IN_MATRIX | CKAN_ROW_FREE, (
        "a new CKAN action: add it to the matrix if it can return anything derived from rows, "
        "otherwise to CKAN_ROW_FREE"
    )
