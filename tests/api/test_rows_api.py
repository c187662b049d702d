"""The rows API, downloads, datapackage.json and SQL over HTTP."""

import csv
import io
import json

import pyarrow.parquet as pq
import pytest

from tests.store.rows_fixture import CODES, load_table


def auth(secret):
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def loaded(session, as_actor, settings, tmp_path):
    return load_table(session, as_actor("department"), settings.home, tmp_path)


def test_rows_json_with_filters_total_and_next_link(client, loaded):
    r = client.get(
        f"/api/v1/resources/{loaded.resource_id}/rows",
        params={"district": "崂山区", "staff__gte": "20", "fields": "uscc,staff", "limit": 3, "total": "true"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 8 and body["version"] == 1
    assert [f["name"] for f in body["fields"]] == ["uscc", "staff"]
    assert [rec["staff"] for rec in body["records"]] == [30, 42, 54]
    follow = client.get(body["_links"]["next"]).json()
    assert [rec["staff"] for rec in follow["records"]] == [66, 78, 90]


def test_rows_as_csv_with_bom_and_as_parquet(client, loaded):
    url = f"/api/v1/resources/{loaded.resource_id}/rows"
    r = client.get(url, params={"format": "csv", "limit": 2, "fields": "name,capital"})
    assert r.content.startswith(b"\xef\xbb\xbf") and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows == [["name", "capital"], ["青岛港湾科技有限公司0", "100.50"], ["青岛海洋科技有限公司1", "101.50"]]
    r = client.get(url, params={"format": "parquet", "limit": 5})
    table = pq.read_table(io.BytesIO(r.content))
    assert table.num_rows == 5 and table.column("uscc").to_pylist() == CODES[:5]


def test_bad_row_queries_are_422_naming_the_parameter(client, loaded):
    url = f"/api/v1/resources/{loaded.resource_id}/rows"
    for params, field in (
        ({"nope": "1"}, "nope"),
        ({"staff__gt": "x"}, "staff"),
        ({"sort": "ghost"}, "ghost"),
        ({"cursor": "abc"}, "cursor"),
        ({"format": "xml"}, "format"),
    ):
        r = client.get(url, params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["error"]["details"][0]["field"] == field


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_downloads_stream_the_whole_table(client, loaded, fmt):
    r = client.get(f"/api/v1/resources/{loaded.resource_id}/download.{fmt}")
    assert r.status_code == 200
    assert "attachment" in r.headers["content-disposition"]
    if fmt == "csv":
        assert r.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert len(rows) == 40 and rows[39]["uscc"] == CODES[39] and rows[9]["staff"] == ""
    elif fmt == "jsonl":
        rows = [json.loads(line) for line in r.text.splitlines()]
        assert len(rows) == 40 and rows[0]["founded"] == "2020-01-01" and rows[9]["staff"] is None
    else:
        assert pq.read_table(io.BytesIO(r.content)).num_rows == 40


def test_datapackage_describes_tables_and_downloads(client, loaded):
    r = client.get(f"/api/v1/entries/{loaded.entry_code}/datapackage.json")
    assert r.status_code == 200
    package = r.json()
    assert package["profile"] == "tabular-data-package" and package["title"] == "市场主体登记信息"
    (res,) = package["resources"]
    assert res["schema"]["primaryKey"] == ["uscc"] and res["x-version"] == 1  # the array form frictionless accepts
    assert res["path"].endswith(f"/api/v1/resources/{loaded.resource_id}/download.csv")


def test_conditional_data_is_refused_on_every_path_to_outsiders(
    client, session, as_actor, token_for, settings, tmp_path
):
    owner = as_actor("department")
    loaded = load_table(session, owner, settings.home, tmp_path, open_type="conditional")
    rid = loaded.resource_id
    sql = f'SELECT count(*) AS n FROM "{rid}"'
    paths = [
        ("get", f"/api/v1/resources/{rid}/rows", {}),
        ("get", f"/api/v1/resources/{rid}/download.csv", {}),
        ("get", "/api/v1/sql", {"params": {"sql": sql}}),
        ("post", "/api/3/action/datastore_search", {"json": {"resource_id": rid}}),
        ("post", "/api/3/action/datastore_search_sql", {"json": {"sql": sql}}),
    ]
    enterprise = auth(token_for(as_actor("enterprise")))
    for method, url, kw in paths:
        for headers in ({}, enterprise):
            r = getattr(client, method)(url, headers=headers, **kw)
            assert r.status_code == 403, (url, headers, r.text)
        r = getattr(client, method)(url, headers=auth(token_for(owner)), **kw)
        assert r.status_code == 200, (url, r.text)
    r = client.get(f"/api/v1/entries/{loaded.entry_code}/datapackage.json")
    assert r.status_code == 403, r.text  # no readable table: no package (see tests/store/test_datapackage.py)


def test_sql_aggregates_over_a_resource(client, loaded):
    sql = (
        f'SELECT district, count(*) AS n, sum(capital) AS capital FROM "{loaded.resource_id}" AS t '
        "WHERE staff IS NOT NULL GROUP BY district ORDER BY district"
    )
    r = client.post("/api/v1/sql", json={"sql": sql})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [f["name"] for f in body["fields"]] == ["district", "n", "capital"]
    assert {rec["district"]: rec["n"] for rec in body["records"]} == {
        "市北区": 8,
        "市南区": 10,
        "崂山区": 10,
        "黄岛区": 8,
    }
    assert body["records_truncated"] is False


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        ("DELETE FROM t", "SELECT"),
        ("SELECT 1; SELECT 2", "一条"),
        ("SELECT * FROM read_csv('/etc/passwd')", "表函数"),
        ("SELECT * FROM information_schema.tables", "information_schema"),
        ("SELECT pg_read_file('/etc/passwd')", "pg_read_file"),
        ("SELECT getenv('HOME')", "getenv"),
        ("COPY (SELECT 1) TO '/tmp/x'", "COPY"),
        ("SELECT * INTO t2 FROM t", "INTO"),
        ("SELEC 1", "语法"),
        ("SELECT 1", "至少"),
        ('SELECT * FROM "00000000-0000-0000-0000-000000000000"', "不存在"),
    ],
)
def test_sql_that_writes_reads_files_or_leaves_the_store_is_refused(client, sql, says):
    r = client.post("/api/v1/sql", json={"sql": sql})
    assert r.status_code in (404, 422), r.text
    assert says in r.json()["error"]["message"], r.json()


def test_sql_row_limit_cuts_and_says_so(client, loaded, monkeypatch):
    from pubdata.settings import get_settings

    monkeypatch.setattr(get_settings(), "sql_max_rows", 5)
    body = client.get("/api/v1/sql", params={"sql": f'SELECT uscc FROM "{loaded.resource_id}"'}).json()
    assert len(body["records"]) == 5 and body["records_truncated"] is True


def test_sql_time_limit_interrupts_the_query(client, loaded, monkeypatch):
    from pubdata.settings import get_settings

    monkeypatch.setattr(get_settings(), "query_timeout_s", 0.2)
    rid = loaded.resource_id
    slow = (
        f'SELECT count(*) FROM "{rid}" a, "{rid}" b, "{rid}" c, "{rid}" d, "{rid}" e, "{rid}" f WHERE a.name < f.name'
    )
    r = client.post("/api/v1/sql", json={"sql": slow})
    assert r.status_code == 422 and r.json()["error"]["code"] == "store.query_timeout"
