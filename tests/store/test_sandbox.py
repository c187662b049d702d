"""The privacy sandbox: medical data only as aggregates; a grantee gets differentially private ones
charged to a persistent budget (groups below a noisy threshold not released), the publisher exact
ones with small groups and their complements suppressed; identifiers refused; masks kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from pubdata.access.schemas import Decision, RequestCreate
from pubdata.access.service import beijing_today
from pubdata.audit.models import AuditRecord
from pubdata.errors import Invalid
from pubdata.settings import get_settings
from pubdata.store import contracts, service, table_schema
from pubdata.store.ingest import load as ingest
from pubdata.store.query import sandbox
from pubdata.store.query.sandbox import suppress
from pubdata.store.schemas import TableCreate
from tests.access.people import person
from tests.builders import make_entry

SCHEMA = {
    "fields": [
        {"name": "id_number", "type": "string", "semanticType": "resident_id", "personalKind": "id_number"},
        {"name": "district", "type": "string"},
        {"name": "diagnosis", "type": "string", "personalKind": "health"},
        {"name": "cost", "type": "number", "semanticType": "amount"},
        {"name": "age", "type": "integer", "constraints": {"minimum": 0, "maximum": 120}},
    ]
}
# 600 visits: district i % 3 (200 each: 市南区, 崂山区, 黄岛区); diagnosis i % 4; cost 100 + i; age 20 + i % 60
DIAGNOSES = ["高血压", "糖尿病", "骨折", "感冒"]
ROWS = 600


def visits(n: int = ROWS) -> str:
    lines = ["id_number,district,diagnosis,cost,age"]
    for i in range(n):
        p = person(i)
        lines.append(f"{p['id_number']},{p['district']},{DIAGNOSES[i % 4]},{100 + i},{20 + i % 60}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def medical(session, as_actor, settings, tmp_path):
    owner = as_actor("department")
    entry = make_entry(session, owner, title="门诊就诊记录", open_type="conditional", category="medical")
    table = service.create_table(session, owner, entry.code, TableCreate(name="就诊", schema=SCHEMA))
    path = tmp_path / "visits.csv"
    path.write_text(visits(), encoding="utf-8")
    assert ingest.ingest(session, owner, table.resource_id, path, home=settings.home).rows_loaded == ROWS
    return owner, table.resource_id


def request(mode: str = "sandbox") -> RequestCreate:
    today = beijing_today()
    return RequestCreate(
        scenario="医保控费研究",
        purpose="按区统计门诊费用，评估医保支付政策",
        fields=["id_number", "district", "diagnosis", "cost", "age"],
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


@pytest.fixture
def publisher(medical, token_for):
    owner, rid = medical
    return rid, {"Authorization": f"Bearer {token_for(owner)}"}


def test_health_data_cannot_be_requested_as_rows(session, as_actor, medical):
    _, rid = medical
    with pytest.raises(Invalid) as exc:
        contracts.request_access(session, as_actor("bank"), rid, request(mode="rows"))
    assert exc.value.field == "mode" and "沙箱" in exc.value.message


def test_a_sandbox_grant_gives_noisy_aggregates_never_rows(client, session, researcher):
    rid, headers = researcher
    r = client.get(f"/api/v1/resources/{rid}/rows", headers=headers)
    assert r.status_code == 403 and "沙箱" in r.json()["error"]["message"]
    assert client.post("/api/v1/sql", json={"sql": f'SELECT * FROM "{rid}"'}, headers=headers).status_code == 403
    body = {
        "measures": [{"fn": "count"}, {"fn": "avg", "field": "cost", "bounds": [0, 1000]}],
        "group_by": ["district"],
    }
    r = client.post(f"/api/v1/resources/{rid}/sandbox", json=body, headers=headers)
    assert r.status_code == 200, r.text
    result = r.json()
    # no dp asked: the default ε is spent, and the answer says so
    assert result["exact"] is False and result["epsilon"] == get_settings().sandbox_default_epsilon
    assert result["privacy_budget_left"] == pytest.approx(1.0 - result["epsilon"])
    groups = {g["district"]: g for g in result["groups"]}
    assert set(groups) == {"市南区", "崂山区", "黄岛区"}  # 200 rows each, far above the threshold
    assert all(abs(g["count"] - 200) < 150 and isinstance(g["count"], int) for g in groups.values())
    assert all(0 <= g["avg_cost"] <= 1000 for g in groups.values())  # clamped, noisy
    assert not any(g["suppressed"] for g in groups.values())
    assert result["release_threshold"] >= get_settings().sandbox_min_group_size
    (audited,) = session.scalars(select(AuditRecord).where(AuditRecord.action == "sandbox.query"))
    assert audited.resource_id == rid and audited.rows == 0
    assert audited.details["epsilon"] == result["epsilon"] and audited.details["exact"] is False


def test_the_publisher_gets_exact_answers_free_and_may_preview_noisy_ones(client, publisher):
    rid, headers = publisher
    url = f"/api/v1/resources/{rid}/sandbox"
    body = {"measures": [{"fn": "count"}, {"fn": "avg", "field": "cost"}], "group_by": ["district"]}
    result = client.post(url, json=body, headers=headers).json()
    assert result["exact"] is True and result["epsilon"] is None and result["privacy_budget_left"] is None
    groups = {g["district"]: g for g in result["groups"]}
    assert groups["市南区"]["count"] == 200 and groups["崂山区"]["avg_cost"] == pytest.approx(399.5)
    preview = client.post(url, json=body | {"measures": [{"fn": "count"}], "dp": {"epsilon": 1}}, headers=headers)
    assert preview.status_code == 200 and preview.json()["exact"] is False
    assert preview.json()["privacy_budget_left"] is None  # no grant, nothing charged


def test_small_groups_and_their_complements_are_suppressed(client, publisher):
    rid, headers = publisher
    few = list(range(100, 140))  # 40 visits: every district × diagnosis cell has 3 or 4
    body = {
        "measures": [{"fn": "count"}, {"fn": "sum", "field": "cost"}],
        "group_by": ["district", "diagnosis"],
        "filters": {"cost": few},
    }
    result = client.post(f"/api/v1/resources/{rid}/sandbox", json=body, headers=headers).json()
    assert result["groups"] and all(g["suppressed"] and g["count"] is None for g in result["groups"])
    body = {"measures": [{"fn": "count"}], "group_by": ["diagnosis"], "filters": {"cost": few[:27]}}
    groups = client.post(f"/api/v1/resources/{rid}/sandbox", json=body, headers=headers).json()["groups"]
    assert all(g["suppressed"] for g in groups)  # 27 rows over 4 diagnoses (7, 7, 7, 6): all below 10


def test_under_privacy_small_groups_are_not_released_at_all(client, researcher):
    rid, headers = researcher
    body = {"measures": [{"fn": "count"}], "group_by": ["district"], "filters": {"cost": list(range(100, 130))}}
    result = client.post(f"/api/v1/resources/{rid}/sandbox", json=body, headers=headers).json()
    # 10 rows per district: below the noisy threshold, so absent — not listed as suppressed
    assert result["groups"] == [] and result["suppressed_groups"] == 0
    assert any("不列出" in note for note in result["notes"])


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


def test_the_release_threshold_bounds_the_chance_of_a_one_row_group():
    mechanism, tau = sandbox.release_threshold(scale=4.0, delta=1e-6, k=10)
    assert tau > 10 and mechanism.map((1, 1, 1))[1] <= 1e-6
    assert sandbox.release_threshold(scale=0.2, delta=1e-6, k=10)[1] == 10  # little noise: k decides
    released = mechanism({"big": 500, "one": 1})
    assert set(released) == {"big"}


def test_which_tables_are_protected():
    plain = table_schema.parse_schema({"fields": [{"name": "district"}, {"name": "amount", "type": "number"}]})
    assert not sandbox.is_protected(plain, "business")
    assert sandbox.is_protected(plain, "medical")  # a health category, whatever the columns say
    assert sandbox.is_protected(plain, "business", catalogue_personal=True)
    assert sandbox.is_protected(table_schema.parse_schema(SCHEMA), "business")
    named = table_schema.parse_schema({"fields": [{"name": "who", "semanticType": "person_name"}]})
    assert sandbox.is_protected(named, "business")


REFUSED = [
    ({"measures": [{"fn": "count"}], "group_by": ["id_number"]}, "个人标识"),
    ({"measures": [{"fn": "sum", "field": "diagnosis"}]}, "数值"),  # masked: text, even if it were a number
    ({"measures": [{"fn": "count"}], "filters": {"id_number": "370212196002020001"}}, "个人标识"),
    ({"measures": [{"fn": "max", "field": "cost"}]}, "fn"),
    ({"measures": [{"fn": "sum", "field": "cost"}], "dp": {"epsilon": 0.5}}, "bounds"),
    ({"measures": [{"fn": "stddev", "field": "cost"}]}, "bounds"),  # no dp asked: still private
    ({"measures": [{"fn": "sum", "field": "cost", "bounds": [5, 1]}]}, "bounds"),
    ({"measures": [{"fn": "count"}], "group_by": ["nope"]}, "nope"),
]


def test_queries_that_would_reveal_individuals_are_refused(client, session, researcher):
    rid, headers = researcher
    audited = 0
    for body, says in REFUSED:
        r = client.post(f"/api/v1/resources/{rid}/sandbox", json=body, headers=headers)
        assert r.status_code == 422 and says in r.text, body
        if r.json()["error"]["code"] == "store.invalid_sandbox_query":  # refused after the read plan: audited
            audited += 1
            refused = session.scalars(
                select(AuditRecord).where(AuditRecord.action == "sandbox.query").order_by(AuditRecord.seq.desc())
            ).first()
            assert refused is not None and refused.result == "refused" and says in refused.reason
    assert audited == 7
    grants = client.get("/api/v1/access/grants", headers=headers).json()
    assert grants[0]["privacy_spent"] == 0  # refusals spend nothing


def test_bounds_default_to_the_schema_constraints(client, researcher):
    rid, headers = researcher
    body = {"measures": [{"fn": "avg", "field": "age"}, {"fn": "quantile", "field": "age", "q": 0.5}]}
    r = client.post(f"/api/v1/resources/{rid}/sandbox", json=body, headers=headers)
    assert r.status_code == 200, r.text
    (only,) = r.json()["groups"]
    assert 0 <= only["avg_age"] <= 120 and 0 <= only["quantile_50_age"] <= 120


def test_without_a_default_epsilon_a_query_must_name_one(client, researcher, monkeypatch):
    rid, headers = researcher
    monkeypatch.setattr(get_settings(), "sandbox_default_epsilon", 0.0)
    r = client.post(f"/api/v1/resources/{rid}/sandbox", json={"measures": [{"fn": "count"}]}, headers=headers)
    assert r.status_code == 422 and "dp.epsilon" in r.json()["error"]["message"]
    body = {"measures": [{"fn": "count"}], "dp": {"epsilon": 0.25}}
    assert client.post(f"/api/v1/resources/{rid}/sandbox", json=body, headers=headers).json()["epsilon"] == 0.25


def test_differential_privacy_spends_a_persistent_budget(client, session, researcher):
    rid, headers = researcher
    body = {"measures": [{"fn": "count"}, {"fn": "sum", "field": "cost", "bounds": [0, 500]}], "dp": {"epsilon": 0.4}}
    url = f"/api/v1/resources/{rid}/sandbox"
    dry = client.post(url, params={"dry_run": "true"}, json=body, headers=headers).json()
    assert dry["epsilon"] == 0.4 and dry["groups"] == [] and dry["privacy_budget_left"] == pytest.approx(1.0)
    first = client.post(url, json=body, headers=headers).json()
    assert first["privacy_budget_left"] == pytest.approx(0.6)
    (only,) = first["groups"]
    assert only["count"] != ROWS or only["sum_cost"] != 239_700 - 100 * 199  # noise was added (both exact: ~impossible)
    assert abs(only["count"] - ROWS) < 60  # Laplace(5): within 12 scales
    assert client.post(url, json=body, headers=headers).json()["privacy_budget_left"] == pytest.approx(0.2)
    over = client.post(url, json=body, headers=headers)
    assert over.status_code == 422 and over.json()["error"]["code"] == "access.privacy_budget_exceeded"
    grants = client.get("/api/v1/access/grants", headers=headers).json()
    assert grants[0]["privacy_spent"] == pytest.approx(0.8) and grants[0]["mode"] == "sandbox"


def test_a_table_without_personal_data_answers_exactly_unless_asked(
    client, session, as_actor, settings, tmp_path, token_for
):
    owner = as_actor("department")
    entry = make_entry(session, owner, title="区县门诊量", open_type="conditional", category="business")
    schema = {"fields": [{"name": "district"}, {"name": "visits", "type": "integer"}]}
    table = service.create_table(session, owner, entry.code, TableCreate(name="门诊量", schema=schema))
    path = tmp_path / "counts.csv"
    path.write_text("district,visits\n" + "".join(f"区{i % 2},{i}\n" for i in range(40)), encoding="utf-8")
    ingest.ingest(session, owner, table.resource_id, path, home=settings.home)
    consumer = as_actor("data_merchant")
    data = request().model_copy(update={"fields": ["district", "visits"]})
    made = contracts.request_access(session, consumer, table.resource_id, data)
    contracts.review_access(session, owner, made.id, Decision(action="approve"))
    contracts.review_access(session, as_actor("operator"), made.id, Decision(action="approve"))
    headers = {"Authorization": f"Bearer {token_for(consumer)}"}
    url = f"/api/v1/resources/{table.resource_id}/sandbox"
    exact = client.post(url, json={"measures": [{"fn": "count"}], "group_by": ["district"]}, headers=headers).json()
    assert exact["exact"] is True and [g["count"] for g in exact["groups"]] == [20, 20]
    noisy = client.post(url, json={"measures": [{"fn": "count"}], "dp": {"epsilon": 1}}, headers=headers).json()
    assert noisy["exact"] is False and noisy["privacy_budget_left"] == pytest.approx(4.0)
