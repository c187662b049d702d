"""The one enforced read path: with a grant a consumer gets exactly the granted fields, masked,
filtered, within quota, on every path (rows API, CKAN datastore_search and _sql, SQL, downloads);
without one, or after revocation, nothing; masks cannot be undone by SQL functions, filters, joins or
grouping."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from pubdata.access import service as access
from pubdata.audit.models import AuditRecord
from tests.access.people import grant, load_people, person, resident_id

GRANTED = ["name", "id_number", "phone", "address", "district", "birth"]


@pytest.fixture
def setup(session, as_actor, settings, tmp_path, token_for):
    people = load_people(session, as_actor("department"), settings.home, tmp_path)
    bank = as_actor("bank")
    grant_id = grant(
        session,
        bank,
        as_actor("operator"),
        people,
        GRANTED + ["amount"],
        department={"fields": GRANTED, "masks": {"birth": "year"}, "row_filter": "district = '崂山区'"},
    )
    headers = {"Authorization": f"Bearer {token_for(bank)}"}
    return people, bank, grant_id, headers


def rows(client, people, headers, **params):
    r = client.get(f"/api/v1/resources/{people.resource_id}/rows", params={"limit": 100, **params}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_rows_api_gives_exactly_the_granted_fields_masked_and_filtered(client, setup):
    people, _, _, headers = setup
    body = rows(client, people, headers, total="true")
    assert [f["name"] for f in body["fields"]] == ["_id", *GRANTED]
    assert body["total"] == 10  # district = '崂山区': i % 3 == 1
    first = body["records"][0]
    real = person(1)
    assert first["name"] == real["name"][0] + "*" * (len(real["name"]) - 1)
    assert first["id_number"] == real["id_number"][:6] + "********" + real["id_number"][-4:]
    assert first["phone"] == "138****0001"
    assert first["address"] == "山东省青岛市崂山区"
    assert first["birth"] == 1961 and first["district"] == "崂山区"
    assert {r["district"] for r in body["records"]} == {"崂山区"}


def test_filters_cannot_probe_raw_values(client, setup):
    people, _, _, headers = setup
    real = person(1)
    assert rows(client, people, headers, id_number=real["id_number"])["records"] == []
    assert rows(client, people, headers, phone__prefix="1380000000")["records"] == []
    assert rows(client, people, headers, name=real["name"])["records"] == []
    assert len(rows(client, people, headers, district="市南区")["records"]) == 0  # outside the row filter
    r = client.get(f"/api/v1/resources/{people.resource_id}/rows", params={"amount__gt": "0"}, headers=headers)
    assert r.status_code == 422 and "amount" in r.text  # not granted: as if it did not exist


@pytest.mark.parametrize(
    "sql",
    [
        'SELECT id_number FROM "{rid}"',
        'SELECT upper(id_number) AS id_number FROM "{rid}"',
        'SELECT substring(id_number, 7, 8) AS id_number FROM "{rid}"',
        'SELECT a.id_number FROM "{rid}" a JOIN "{rid}" b ON a._id = b._id',
        'SELECT id_number, count(*) FROM "{rid}" GROUP BY id_number',
    ],
)
def test_sql_cannot_unmask(client, setup, sql):
    people, _, _, headers = setup
    body = client.post("/api/v1/sql", json={"sql": sql.format(rid=people.resource_id)}, headers=headers).json()
    values = [str(r.get("id_number")) for r in body["records"]]
    assert values and all("********" in v for v in values if len(v) > 8) and len(body["records"]) <= 10
    for i in range(30):
        assert resident_id(i) not in str(body)
        assert resident_id(i)[6:14] not in values


def test_sql_probes_and_hidden_columns_get_nothing(client, setup):
    people, _, _, headers = setup
    rid = people.resource_id
    probe = f"SELECT count(*) AS n FROM \"{rid}\" WHERE id_number = '{resident_id(1)}'"
    assert client.post("/api/v1/sql", json={"sql": probe}, headers=headers).json()["records"] == [{"n": 0}]
    outside = f"SELECT count(*) AS n FROM \"{rid}\" WHERE district = '市南区'"
    assert client.post("/api/v1/sql", json={"sql": outside}, headers=headers).json()["records"] == [{"n": 0}]
    hidden = client.post("/api/v1/sql", json={"sql": f'SELECT sum(amount) FROM "{rid}"'}, headers=headers)
    assert hidden.status_code == 422 and "amount" in hidden.text


def test_ckan_and_downloads_apply_the_same_contract(client, setup):
    people, _, _, headers = setup
    result = client.post(
        "/api/3/action/datastore_search", json={"resource_id": people.resource_id, "limit": 3}, headers=headers
    ).json()["result"]
    assert result["total"] == 10 and [f["id"] for f in result["fields"]] == ["_id", *GRANTED]
    assert result["records"][0]["phone"] == "138****0001"
    r = client.get(f"/api/v1/resources/{people.resource_id}/download.csv", headers=headers)
    got = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(got) == 10 and list(got[0]) == GRANTED and got[0]["address"] == "山东省青岛市崂山区"


def test_no_grant_no_data_on_any_path(client, session, setup, as_actor, token_for):
    people, _, _, _ = setup
    other = {"Authorization": f"Bearer {token_for(as_actor('bank'))}"}
    rid = people.resource_id
    for method, url, kw in (
        ("get", f"/api/v1/resources/{rid}/rows", {}),
        ("get", f"/api/v1/resources/{rid}/download.parquet", {}),
        ("post", "/api/v1/sql", {"json": {"sql": f'SELECT count(*) FROM "{rid}"'}}),
        ("post", "/api/3/action/datastore_search", {"json": {"resource_id": rid}}),
    ):
        for headers in (other, {}):
            assert getattr(client, method)(url, headers=headers, **kw).status_code == 403, url
    refused = session.scalars(select(AuditRecord).where(AuditRecord.result == "refused")).all()
    # eight refused reads, and the two SQL statements are refused as statements too (sql.query)
    assert len(refused) == 10 and all("需申请" in r.reason for r in refused)
    assert sorted(r.action for r in refused).count("sql.query") == 2


def test_revocation_takes_effect_on_the_next_read(client, session, setup):
    people, _, grant_id, headers = setup
    assert rows(client, people, headers)["records"]
    access.revoke_grant(session, people.owner, grant_id, "超范围使用")
    r = client.get(f"/api/v1/resources/{people.resource_id}/rows", headers=headers)
    assert r.status_code == 403 and "撤销" in r.json()["error"]["message"]


def test_rate_limit_and_row_quota(client, session, as_actor, settings, tmp_path, token_for):
    people = load_people(session, as_actor("department"), settings.home, tmp_path)
    bank = as_actor("bank")
    grant(session, bank, as_actor("operator"), people, ["district"], operator_terms={"rate_per_minute": 2})
    headers = {"Authorization": f"Bearer {token_for(bank)}"}
    url = f"/api/v1/resources/{people.resource_id}/rows"
    assert [client.get(url, headers=headers).status_code for _ in range(2)] == [200, 200]
    limited = client.get(url, headers=headers)
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60

    data_merchant = as_actor("data_merchant")
    grant(session, data_merchant, as_actor("operator"), people, ["district"], operator_terms={"daily_row_quota": 25})
    merchant = {"Authorization": f"Bearer {token_for(data_merchant)}"}
    assert len(client.get(url, params={"limit": 20}, headers=merchant).json()["records"]) == 20
    cut = client.get(url, params={"limit": 20}, headers=merchant).json()  # 5 rows left: the page is cut to them
    assert len(cut["records"]) == 5 and cut["truncated_by_quota"] and cut["quota"]["rows_left_today"] == 0
    over = client.get(url, headers=merchant)
    assert over.status_code == 429 and over.json()["error"]["code"] == "access.quota_exceeded"
    (mine,) = access.list_grants(session, data_merchant)
    assert mine.calls_today == 2 and mine.rows_today == 25  # the refused call is not charged


def test_portal_preview_shows_the_grant_view(client, setup):
    people, _, _, headers = setup
    html = client.get(f"/dataset/{people.entry_name}/resource/{people.resource_id}", headers=headers).text
    assert "共 10 行" in html and "138****0001" in html and resident_id(1) not in html
    assert "download.csv" in html
    anonymous = client.get(f"/dataset/{people.entry_name}/resource/{people.resource_id}").text
    assert 'id="rows-forbidden"' in anonymous and "138****" not in anonymous
