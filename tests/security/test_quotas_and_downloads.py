"""Issue 10 §4 and §7.4–5: the daily row quota bounds what every read returns (pages are cut with a
marker, downloads larger than what is left are refused before they start, concurrent readers cannot
overshoot); spreadsheet-oriented downloads neutralise formula cells while machine formats stay
exact; a job's stored error message is bounded whatever the file."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, select

from pubdata.access import service as access
from pubdata.access import usage
from pubdata.audit.models import AuditRecord
from pubdata.authz import Actor
from pubdata.db import session_scope
from pubdata.errors import RateLimited
from pubdata.store import service
from pubdata.store.ingest import load as ingest
from pubdata.store.jobs import queue as jobs
from pubdata.store.jobs import runner as job_runner
from pubdata.store.models import StoreJob
from pubdata.store.query import export
from pubdata.store.query import rows as query
from pubdata.store.schemas import TableCreate
from tests import builders
from tests.access.people import People, grant, load_people
from tests.concurrency import together
from tests.conftest import fresh_engine
from tests.store.test_xlsx import write_xlsx

FIELDS = ["name", "district", "amount"]  # no row filter: all 30 rows of the people table


def quota_grant(session, as_actor, people: People, quota: int, token_for) -> tuple[Actor, dict[str, str]]:
    bank = as_actor("bank")
    grant(session, bank, as_actor("operator"), people, FIELDS, operator_terms={"daily_row_quota": quota})
    return bank, {"Authorization": f"Bearer {token_for(bank)}"}


def rows_today(session, consumer: Actor) -> int:
    (mine,) = access.list_grants(session, consumer)
    return mine.rows_today


@pytest.fixture
def people(session, as_actor, settings, tmp_path) -> People:
    return load_people(session, as_actor("department"), settings.home, tmp_path)  # 30 rows


# --- §4: a download larger than what is left is refused before it starts ----------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_a_download_larger_than_the_quota_left_is_refused_with_the_numbers(
    client, session, people, as_actor, token_for, fmt
):
    bank, headers = quota_grant(session, as_actor, people, 25, token_for)
    url = f"/api/v1/resources/{people.resource_id}/download.{fmt}"
    r = client.get(url, headers=headers)
    assert r.status_code == 429, r.text[:200]
    error = r.json()["error"]
    assert error["code"] == "access.quota_exceeded" and int(r.headers["Retry-After"]) >= 1
    assert "30 行" in error["message"] and "剩余 25 行" in error["message"] and "上限 25 行" in error["message"]
    assert error["details"]["rows_asked"] == 30 and error["details"]["rows_left_today"] == 25
    assert rows_today(session, bank) == 0  # nothing was sent, nothing charged
    refused = session.scalars(
        select(AuditRecord).where(AuditRecord.result == "refused", AuditRecord.action == f"download.{fmt}")
    ).all()
    assert len(refused) == 1 and "剩余 25 行" in refused[0].reason

    # what fits is served, and charged, whole
    bigger, more = quota_grant(session, as_actor, people, 40, token_for)
    ok = client.get(url, headers=more)
    assert ok.status_code == 200 and rows_today(session, bigger) == 30
    again = client.get(url, headers=more)
    assert again.status_code == 429 and "剩余 10 行" in again.json()["error"]["message"]


# --- §4: pages are cut to what is left, with a marker ------------------------------------------------


def test_a_rows_page_is_cut_to_what_is_left_with_a_marker(client, session, people, as_actor, token_for):
    bank, headers = quota_grant(session, as_actor, people, 25, token_for)
    url = f"/api/v1/resources/{people.resource_id}/rows"
    first = client.get(url, params={"limit": 20}, headers=headers).json()
    assert len(first["records"]) == 20 and first["truncated_by_quota"] is False
    assert first["quota"] == {
        "daily_row_quota": 25,
        "rows_used_today": 20,
        "rows_left_today": 5,
        "truncated_by_quota": False,
        "resets_at": first["quota"]["resets_at"],
    }
    second = client.get(url, params={"limit": 20, "cursor": first["next_cursor"]}, headers=headers).json()
    assert len(second["records"]) == 5 and second["truncated_by_quota"] is True
    assert second["quota"]["rows_left_today"] == 0 and second["quota"]["truncated_by_quota"] is True
    assert [r["_id"] for r in second["records"]] == list(range(21, 26))
    assert second["next_cursor"]  # the rest can be read tomorrow, from exactly there
    third = client.get(url, params={"limit": 1}, headers=headers)
    assert third.status_code == 429 and third.json()["error"]["code"] == "access.quota_exceeded"
    assert rows_today(session, bank) == 25


def test_csv_and_parquet_pages_are_cut_and_say_so_in_headers(client, session, people, as_actor, token_for):
    bank, headers = quota_grant(session, as_actor, people, 12, token_for)
    url = f"/api/v1/resources/{people.resource_id}/rows"
    page = client.get(url, params={"limit": 10, "format": "csv"}, headers=headers)
    assert page.headers["X-Row-Quota-Truncated"] == "false" and page.headers["X-Row-Quota-Remaining"] == "2"
    cut = client.get(url, params={"limit": 10, "format": "parquet"}, headers=headers)
    assert pq.read_table(io.BytesIO(cut.content)).num_rows == 2
    assert cut.headers["X-Row-Quota-Truncated"] == "true" and cut.headers["X-Row-Quota-Limit"] == "12"
    assert rows_today(session, bank) == 12


def test_ckan_datastore_search_is_cut_with_a_marker(client, session, people, as_actor, token_for):
    bank, headers = quota_grant(session, as_actor, people, 25, token_for)
    action = "/api/3/action/datastore_search"
    first = client.post(action, json={"resource_id": people.resource_id, "limit": 20}, headers=headers).json()
    assert len(first["result"]["records"]) == 20 and "truncated_by_quota" not in first["result"]
    assert first["result"]["quota"]["rows_left_today"] == 5
    body = {"resource_id": people.resource_id, "limit": 20, "offset": 20}
    second = client.post(action, json=body, headers=headers).json()["result"]
    assert len(second["records"]) == 5 and second["truncated_by_quota"] is True
    assert second["quota"]["rows_left_today"] == 0
    assert "offset=25" in second["_links"]["next"]  # the next page starts after what was returned
    assert rows_today(session, bank) == 25


def test_the_portal_preview_is_cut_with_a_notice(client, session, people, as_actor, token_for):
    bank, headers = quota_grant(session, as_actor, people, 25, token_for)
    page = f"/dataset/{people.entry_name}/resource/{people.resource_id}"
    assert 'id="rows-quota"' not in client.get(page, headers=headers).text  # 20 rows of the 25
    html = client.get(page, headers=headers).text
    assert 'id="rows-quota"' in html and "今日剩余 0 行" in html
    assert html.count("<tr><td>") <= 5
    assert rows_today(session, bank) == 25
    spent = client.get(page, headers=headers)
    assert spent.status_code == 200 and "今日数据行数已达上限" in spent.text  # the page itself still shows


def test_a_read_under_a_grant_without_row_quota_is_not_cut(client, session, people, as_actor, token_for):
    bank = as_actor("bank")
    grant(session, bank, as_actor("operator"), people, FIELDS)
    headers = {"Authorization": f"Bearer {token_for(bank)}"}
    body = client.get(f"/api/v1/resources/{people.resource_id}/rows", headers=headers).json()
    assert len(body["records"]) == 30 and body["quota"] is None and body["truncated_by_quota"] is False
    assert client.get(f"/api/v1/resources/{people.resource_id}/download.csv", headers=headers).status_code == 200
    assert rows_today(session, bank) == 60


# --- §4: concurrent readers, each in its own session and transaction ---------------------------------


@pytest.fixture
def committed(tmp_path: Path, settings) -> Iterator[tuple[Engine, People, Actor, Actor]]:
    """A database of its own with committed data: the people table and two consumers' grants."""
    engine = fresh_engine(tmp_path, name=f"quota_{uuid.uuid4().hex[:8]}")
    with session_scope(engine) as s:

        def actor(role: str, kind: str) -> Actor:
            return builders.actor_of(builders.make_user(s, builders.make_org(s, kind), roles=[role]))

        people = load_people(s, actor("department", "department"), settings.home, tmp_path)
        operator = actor("operator", "operator")
        reader, downloader = actor("bank", "bank"), actor("bank", "bank")
        grant(s, reader, operator, people, FIELDS, operator_terms={"daily_row_quota": 25})
        grant(s, downloader, operator, people, FIELDS, operator_terms={"daily_row_quota": 70})
    yield engine, people, reader, downloader
    engine.dispose()


def test_concurrent_readers_cannot_overshoot_the_quota(committed, settings):
    engine, people, reader, downloader = committed

    nothing = [query.Filter("district", "eq", "不存在的区")]
    asks = [query.RowQuery(limit=10)] * 8 + [query.RowQuery(filters=nothing, limit=10)] * 4
    turn = iter(range(len(asks)))

    def page() -> int:
        spec = asks[next(turn)]  # readers that reserve rows, and readers whose pages are empty
        with session_scope(engine) as s:
            return query.read_rows(s, reader, people.resource_id, spec, home=settings.home).table.num_rows

    pages = together(len(asks), page)
    assert all(isinstance(p, int | RateLimited) for p in pages), pages  # no deadlock, no other error
    assert sum(p for p in pages if isinstance(p, int)) == 25  # 80 rows asked, exactly the quota given

    def download() -> int:
        with session_scope(engine) as s:
            result = export.download(s, downloader, people.resource_id, "jsonl", home=settings.home)
        return sum(chunk.count(b"\n") for chunk in result.chunks)

    downloads = together(5, download)
    served = [d for d in downloads if isinstance(d, int)]
    assert all(d == 30 for d in served) and len(served) == 2, downloads  # 2 × 30 ≤ 70 < 3 × 30
    assert all(isinstance(d, usage.QuotaExceeded) for d in downloads if not isinstance(d, int))
    with session_scope(engine) as s:
        assert rows_today(s, reader) == 25 and rows_today(s, downloader) == 60


def test_take_rows_never_gives_more_than_is_left(session, people, as_actor, token_for, settings):
    """The functions sql.py uses: ``rows_allowed`` before the query, ``take_rows`` after it."""
    from pubdata.store.read import plan_read, rows_allowed, take_rows

    bank, _ = quota_grant(session, as_actor, people, 25, token_for)
    plan = plan_read(session, bank, people.resource_id, home=settings.home)
    assert plan.rows_left == 25 and rows_allowed([plan]) == 25
    taken = take_rows(session, bank, [plan], "sql.read", rows=40, query_text="SELECT 1")
    assert taken.rows == 25 and taken.truncated and taken.quota is not None and taken.quota.left == 0
    assert take_rows(session, bank, [plan], "sql.read", rows=3).rows == 0
    session.flush()
    assert usage.usage_today(session, plan.grant_id)[1] == 25  # type: ignore[arg-type]


def test_a_join_of_two_grants_returns_and_charges_the_least_either_allows(
    session, people, as_actor, token_for, settings, tmp_path
):
    from pubdata.store.read import plan_read, rows_allowed, take_rows

    (tmp_path / "other").mkdir()
    other = load_people(session, as_actor("department"), settings.home, tmp_path / "other")
    bank = as_actor("bank")
    operator = as_actor("operator")
    grant(session, bank, operator, people, FIELDS, operator_terms={"daily_row_quota": 25})
    grant(session, bank, operator, other, FIELDS, operator_terms={"daily_row_quota": 10})
    plans = [plan_read(session, bank, p.resource_id, home=settings.home) for p in (people, other)]
    assert rows_allowed(plans) == 10
    taken = take_rows(session, bank, plans, "sql.read", rows=20, query_text="SELECT 1")
    assert taken.rows == 10 and taken.truncated and taken.quota is not None and taken.quota.daily == 10
    session.flush()
    assert [usage.usage_today(session, p.grant_id)[1] for p in plans] == [10, 10]  # type: ignore[arg-type]


# --- §7.4: formula cells --------------------------------------------------------------------------

FORMULAS = ["=cmd|' /C calc'!A0", "+86 13800000000", "-2 号楼", "@SUM(A1:A9)", "＝1+1", "普通文本"]
FORMULA_SCHEMA = {
    "fields": [
        {"name": "note", "type": "string"},
        {"name": "amount", "type": "number"},
        {"name": "delta", "type": "integer"},
    ]
}


@pytest.fixture
def formula_table(session, as_actor, settings, tmp_path) -> str:
    dept = as_actor("department")
    entry = builders.make_entry(session, dept, title="公式注入测试")
    rid = service.create_table(session, dept, entry.code, TableCreate(name="明细", schema=FORMULA_SCHEMA)).resource_id
    path = tmp_path / "formulas.csv"
    lines = ["note,amount,delta"] + [f"{note},-{i}.5,-{i}" for i, note in enumerate(FORMULAS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert ingest.ingest(session, dept, rid, path, home=settings.home).state == "published"
    return rid


def _csv(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def test_the_spreadsheet_csv_neutralises_formula_cells_but_keeps_numbers(client, formula_table):
    r = client.get(f"/api/v1/resources/{formula_table}/download.csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    got = _csv(r.content)
    assert [g["note"] for g in got] == ["'" + f if f != "普通文本" else f for f in FORMULAS]
    assert [g["amount"] for g in got] == [f"-{i}.5" for i in range(len(FORMULAS))]  # numbers stay numbers
    assert [g["delta"] for g in got] == [f"-{i}" if i else "0" for i in range(len(FORMULAS))]
    page = client.get(f"/api/v1/resources/{formula_table}/rows", params={"format": "csv"})
    assert [g["note"] for g in _csv(page.content)] == [g["note"] for g in got]
    for raw_cell in (b"\n=cmd", b",=cmd", b"\n@SUM", b"\n+86"):
        assert raw_cell not in r.content and raw_cell not in page.content


def test_machine_formats_stay_exact(client, formula_table):
    base = f"/api/v1/resources/{formula_table}"
    raw = client.get(f"{base}/download.csv", params={"raw": "true"})
    assert not raw.content.startswith(b"\xef\xbb\xbf") and [g["note"] for g in _csv(raw.content)] == FORMULAS
    parquet = pq.read_table(io.BytesIO(client.get(f"{base}/download.parquet").content))
    assert parquet.column("note").to_pylist() == FORMULAS
    lines = client.get(f"{base}/download.jsonl").text.splitlines()
    assert [json.loads(line)["note"] for line in lines] == FORMULAS
    assert [r["note"] for r in client.get(f"{base}/rows").json()["records"]] == FORMULAS
    ckan = client.post(
        "/api/3/action/datastore_search",
        json={"resource_id": formula_table, "records_format": "csv", "fields": "note"},
    ).json()["result"]["records"]
    assert [row[0] for row in csv.reader(io.StringIO(ckan))] == FORMULAS


def test_formula_text_from_an_xlsx_upload_is_neutralised_too(client, session, as_actor, settings, tmp_path):
    """Formulas in a workbook are refused at upload (store/ingest/xlsx.py); text that only looks like one
    loads as text and leaves through the spreadsheet CSV neutralised. There is no XLSX download."""
    dept = as_actor("department")
    entry = builders.make_entry(session, dept, title="表格公式")
    rid = service.create_table(session, dept, entry.code, TableCreate(name="明细", schema=FORMULA_SCHEMA)).resource_id
    book = write_xlsx(tmp_path / "f.xlsx", [["note", "amount", "delta"], *[[f, -1.5, -1] for f in FORMULAS]])
    assert ingest.ingest(session, dept, rid, book, home=settings.home).state == "published"
    got = _csv(client.get(f"/api/v1/resources/{rid}/download.csv").content)
    assert got[0]["note"] == "'=cmd|' /C calc'!A0" and got[0]["amount"] == "-1.5" and got[0]["delta"] == "-1"
    assert client.get(f"/api/v1/resources/{rid}/download.xlsx").status_code == 422


def test_rejects_csv_neutralises_the_rejected_values(client, session, as_actor, settings, tmp_path, token_for):
    """Rejected values are raw input (a formula typed into a number column) served as BOM CSV."""
    dept = as_actor("department")
    entry = builders.make_entry(session, dept, title="拒收公式")
    rid = service.create_table(session, dept, entry.code, TableCreate(name="明细", schema=FORMULA_SCHEMA)).resource_id
    path = tmp_path / "bad.csv"
    good = [f"行{i},{i},{i}" for i in range(100)]
    path.write_text("note,amount,delta\n" + "\n".join([*good, "坏行,=1+2,@x", '"多行\n文本",-cmd,3']) + "\n")
    assert ingest.ingest(session, dept, rid, path, home=settings.home).state == "published"
    r = client.get(
        f"/api/v1/resources/{rid}/versions/1/rejects.csv", headers={"Authorization": f"Bearer {token_for(dept)}"}
    )
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert {row["value"] for row in rows} == {"'=1+2", "'@x", "'-cmd"}
    assert rows[0]["row"] == "101" and all(row["reason"] for row in rows)


def test_every_formula_lead_is_neutralised_in_text_columns_only():
    table = pa.table(
        {
            "t": ["=1", "+1", "-1", "@a", "\tx", "\rx", "＝1", "＋1", "－1", "＠a", "a=1", "", None],
            "n": pa.array([-1, 2, -3, 4, 5, 6, 7, 8, 9, 10, 11, 12, None], pa.int64()),
        }
    )
    safe = export.spreadsheet_safe(table)
    assert safe.column("t").to_pylist() == [
        "'=1", "'+1", "'-1", "'@a", "'\tx", "'\rx", "'＝1", "'＋1", "'－1", "'＠a", "a=1", "", None,
    ]  # fmt: skip
    assert safe.column("n").to_pylist() == table.column("n").to_pylist() and safe.schema == table.schema


# --- §7.5: bounded job messages ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        ",".join(f"c{i}" for i in range(1_000_000)),  # a million extra columns
        "," * 1_000_000,  # a million blank names
        ",".join(f"d{i // 2}" for i in range(600_000)),  # 300,000 names repeated
    ],
    ids=["extra", "blank", "repeated"],
)
def test_a_huge_header_stores_a_bounded_message_on_the_job(session, as_actor, settings, header):
    dept = as_actor("department")
    entry = builders.make_entry(session, dept, title="超宽表头")
    rid = service.create_table(session, dept, entry.code, TableCreate(name="明细", schema=FORMULA_SCHEMA)).resource_id
    upload = jobs.begin_upload(session, dept, rid, settings.home)
    path = upload.directory / "source.csv"
    path.write_text(header + "\n" + "x\n", encoding="utf-8")
    job_id = jobs.queue_ingest(session, dept, upload, path=path, source_name="wide.csv", via="api").id
    done = job_runner.run_job_inline(session, job_id, home=settings.home)
    assert done.state == "failed" and done.error is not None
    stored = session.scalar(select(StoreJob.error).where(StoreJob.id == job_id))
    assert len(json.dumps(stored, ensure_ascii=False)) < 6_000
    assert len(stored["message"]) <= job_runner.MAX_MESSAGE_CHARS and stored["message"].startswith("表头")
    assert "等" in stored["message"] or "已截断" in stored["message"]


def test_any_job_error_is_cut_with_a_marker():
    from pubdata.errors import Invalid

    big = Invalid("错" * 5_000_000, details=[{"field": f"f{i}", "message": "x" * 10_000} for i in range(10_000)])
    error = job_runner._error_of(big)
    assert len(error["message"]) <= job_runner.MAX_MESSAGE_CHARS and error["message"].endswith("（已截断）")
    assert len(json.dumps(error, ensure_ascii=False)) < 50_000


def test_sql_results_are_cut_to_what_is_left_on_both_surfaces(client, session, people, as_actor, token_for):
    bank, headers = quota_grant(session, as_actor, people, 25, token_for)
    sql = f'SELECT name, amount FROM "{people.resource_id}" ORDER BY amount'
    first = client.post("/api/v1/sql", json={"sql": sql}, headers=headers).json()
    assert len(first["records"]) == 25 and first["truncated_by_quota"] is True
    assert first["records_truncated"] is True and first["quota"]["rows_left_today"] == 0
    spent = client.post("/api/3/action/datastore_search_sql", json={"sql": sql}, headers=headers)
    assert spent.status_code == 429 and spent.json()["error"]["__type"] == "Rate Limit Error"
    assert rows_today(session, bank) == 25
    other, more = quota_grant(session, as_actor, people, 7, token_for)
    cut = client.post("/api/3/action/datastore_search_sql", json={"sql": sql}, headers=more).json()["result"]
    assert len(cut["records"]) == 7 and cut["truncated_by_quota"] is True and cut["quota"]["rows_left_today"] == 0
    assert rows_today(session, other) == 7
