"""The privacy sandbox: medical data only as aggregates, small groups and their complements
suppressed, identifiers refused, differential privacy charged to a persistent budget."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from pubdata.access.schemas import Decision, RequestCreate
from pubdata.access.service import beijing_today
from pubdata.audit.models import AuditRecord
from pubdata.errors import Invalid
from pubdata.store import contracts, ingest, service
from pubdata.store.sandbox import suppress
from pubdata.store.schemas import TableCreate
from tests.access.people import person
from tests.builders import make_entry

SCHEMA = {
    "fields": [
        {"name": "id_number", "type": "string", "semanticType": "resident_id", "personalKind": "id_number"},
        {"name": "district", "type": "string"},
        {"name": "diagnosis", "type": "string", "personalKind": "health"},
        {"name": "cost", "type": "number", "semanticType": "amount"},
    ]
}
# district i % 3: 市南区 14, 崂山区 13, 黄岛区 13 of 40; diagnosis i % 4; cost 100 + i
DIAGNOSES = ["高血压", "糖尿病", "骨折", "感冒"]


def visits(n: int = 40) -> str:
    lines = ["id_number,district,diagnosis,cost"]
    for i in range(n):
        p = person(i)
        lines.append(f"{p['id_number']},{p['district']},{DIAGNOSES[i % 4]},{100 + i}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def medical(session, as_actor, settings, tmp_path):
    owner = as_actor("department")
    entry = make_entry(session, owner, title="门诊就诊记录", open_type="conditional", category="medical")
    table = service.create_table(session, owner, entry.code, TableCreate(name="就诊", schema=SCHEMA))
    path = tmp_path / "visits.csv"
    path.write_text(visits(), encoding="utf-8")
    assert ingest.ingest(session, owner, table.resource_id, path, home=settings.home).rows_loaded == 40
    return owner, table.resource_id


def request(mode: str = "sandbox") -> RequestCreate:
    today = beijing_today()
    return RequestCreate(
        scenario="医保控费研究",
        purpose="按区统计门诊费用，评估医保支付政策",
        fields=["id_number", "district", "diagnosis", "cost"],
        period_start=today,
        period_end=today + timedelta(days=30),
        mode=mode,
    )


@pytest.fixture
def researcher(session, as_actor, medical, token_for):
    owner, rid = medical
    consumer = as_actor("data_merchant")
    made = contracts.request_access(session, consumer, rid, request())
    contracts.review_access(session, owner, made.id, Decision(action="approve"))
    contracts.review_access(session, as_actor("operator"), made.id, Decision(action="approve", privacy_budget=1.0))
    return rid, {"Authorization": f"Bearer {token_for(consumer)}"}


def test_health_data_cannot_be_requested_as_rows(session, as_actor, medical):
    _, rid = medical
    with pytest.raises(Invalid) as exc:
        contracts.request_access(session, as_actor("bank"), rid, request(mode="rows"))
    assert exc.value.field == "mode" and "沙箱" in exc.value.message


def test_a_sandbox_grant_gives_aggregates_never_rows(client, session, researcher):
    rid, headers = researcher
    r = client.get(f"/api/v1/resources/{rid}/rows", headers=headers)
    assert r.status_code == 403 and "沙箱" in r.json()["error"]["message"]
    assert client.post("/api/v1/sql", json={"sql": f'SELECT * FROM "{rid}"'}, headers=headers).status_code == 403
    body = {"measures": [{"fn": "count"}, {"fn": "avg", "field": "cost"}], "group_by": ["district"]}
    r = client.post(f"/api/v1/resources/{rid}/sandbox", json=body, headers=headers)
    assert r.status_code == 200, r.text
    groups = {g["district"]: g for g in r.json()["groups"]}
    assert groups["市南区"]["count"] == 14 and groups["崂山区"]["avg_cost"] == pytest.approx(119.0)
    assert not any(g["suppressed"] for g in groups.values())
    (audited,) = session.scalars(select(AuditRecord).where(AuditRecord.action == "sandbox.query"))
    assert audited.resource_id == rid and audited.rows == 0


def test_small_groups_and_their_complements_are_suppressed(client, researcher):
    rid, headers = researcher
    body = {"measures": [{"fn": "count"}, {"fn": "sum", "field": "cost"}], "group_by": ["district", "diagnosis"]}
    result = client.post(f"/api/v1/resources/{rid}/sandbox", json=body, headers=headers).json()
    assert result["groups"] and all(g["suppressed"] and g["count"] is None for g in result["groups"])  # every cell < 10
    body = {"measures": [{"fn": "count"}], "group_by": ["diagnosis"], "filters": {"district": ["市南区", "崂山区"]}}
    groups = {
        g["diagnosis"]: g
        for g in client.post(f"/api/v1/resources/{rid}/sandbox", json=body, headers=headers).json()["groups"]
    }
    # 27 rows over 4 diagnoses (7, 7, 7, 6): all below 10, all hidden
    assert all(g["suppressed"] for g in groups.values())


def test_suppression_rules():
    groups = [{"k": "a", "__n": 3}, {"k": "b", "__n": 12}, {"k": "c", "__n": 15}, {"k": "d", "__n": 40}]
    assert suppress(groups, ["k"], 10) == 2
    assert [g["k"] for g in groups if g["__hidden"]] == ["a", "b"]  # 3 alone could be derived from the total
    two_way = [
        {"r": r, "c": c, "__n": n}
        for (r, c), n in {("x", "p"): 4, ("x", "q"): 30, ("y", "p"): 30, ("y", "q"): 30}.items()
    ]
    suppress(two_way, ["r", "c"], 10)
    hidden = {(g["r"], g["c"]) for g in two_way if g["__hidden"]}
    assert ("x", "p") in hidden and len(hidden) >= 3  # its row and its column each need a complement
    assert suppress([{"k": "a", "__n": 50}], ["k"], 10) == 0


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"measures": [{"fn": "count"}], "group_by": ["id_number"]}, "个人标识"),
        ({"measures": [{"fn": "sum", "field": "diagnosis"}]}, "数值"),
        ({"measures": [{"fn": "count"}], "filters": {"id_number": "370212196002020001"}}, "个人标识"),
        ({"measures": [{"fn": "max", "field": "cost"}]}, "fn"),
        ({"measures": [{"fn": "sum", "field": "cost"}], "dp": {"epsilon": 0.5}}, "bounds"),
        ({"measures": [{"fn": "count"}], "group_by": ["nope"]}, "nope"),
    ],
)
def test_queries_that_would_reveal_individuals_are_refused(client, researcher, body, says):
    rid, headers = researcher
    r = client.post(f"/api/v1/resources/{rid}/sandbox", json=body, headers=headers)
    assert r.status_code == 422 and says in r.text


def test_differential_privacy_spends_a_persistent_budget(client, session, researcher):
    rid, headers = researcher
    body = {"measures": [{"fn": "count"}, {"fn": "sum", "field": "cost", "bounds": [0, 500]}], "dp": {"epsilon": 0.4}}
    url = f"/api/v1/resources/{rid}/sandbox"
    dry = client.post(url, params={"dry_run": "true"}, json=body, headers=headers).json()
    assert dry["epsilon"] == 0.4 and dry["groups"] == []
    first = client.post(url, json=body, headers=headers).json()
    assert first["privacy_budget_left"] == pytest.approx(0.6)
    (only,) = first["groups"]
    assert only["count"] != 40 or only["sum_cost"] != 4780  # noise was added (both equal the truth: ~impossible)
    assert abs(only["count"] - 40) < 60  # Laplace(5): within 12 scales
    assert client.post(url, json=body, headers=headers).json()["privacy_budget_left"] == pytest.approx(0.2)
    over = client.post(url, json=body, headers=headers)
    assert over.status_code == 422 and over.json()["error"]["code"] == "access.privacy_budget_exceeded"
    grants = client.get("/api/v1/access/grants", headers=headers).json()
    assert grants[0]["privacy_spent"] == pytest.approx(0.8) and grants[0]["mode"] == "sandbox"
