"""Issue 10 §6: resource exhaustion.

The red team sent an anonymous ``datastore_search`` (and a sandbox query) with a 200,000-value IN
list — 16 s each, 167 s for 2M values — and sixty parallel requests on one token, which ran the
database pool dry: 36–40 HTTP 500s (``QueuePool limit reached``) and a 27 s answer for another user.

Each test here failed on that code: the 200,000 values were bound one by one as DuckDB parameters
(≈0.1 ms each) and answered 200; a body of any size was read and parsed; pool exhaustion was a 500
after a 30 s wait; and any number of requests of one caller ran at once.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from pubdata.api.v1 import rows as v1_rows
from pubdata.app import create_app
from pubdata.db import PoolLimits, make_engine, migrate, unreachable
from pubdata.errors import Invalid
from pubdata.settings import Settings
from pubdata.store.query import rows as query
from tests import asgi
from tests.conftest import database_url
from tests.store.rows_fixture import load_table

MANY = 200_000
ONE_MIB = 1 << 20


@pytest.fixture
def loaded(session, as_actor, settings, tmp_path):
    return load_table(session, as_actor("department"), settings.home, tmp_path)


@pytest.fixture
def app_with(app, settings, engine) -> Callable[..., FastAPI]:
    """An app like the ``app`` fixture (same test transaction) with some settings changed."""

    def make(**changes: Any) -> FastAPI:
        other = create_app(settings.model_copy(update=changes), engine)
        other.dependency_overrides.update(app.dependency_overrides)
        return other

    return make


def call(
    app: FastAPI,
    method: str,
    path: str,
    *,
    query_string: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    body: list[bytes] | None = None,
    endless: bytes | None = None,
) -> tuple[int, dict[str, str], bytes, int]:
    """Drive the application directly over ASGI (no HTTP client limits on the URL or the body):
    ``body`` is sent as chunks, or ``endless`` is sent again and again (up to 64 MiB) as a client
    would stream a huge body. Returns (status, headers, response body, body bytes the app read)."""
    chunks = list(body or [])
    read = 0

    async def receive() -> dict[str, Any]:
        nonlocal read
        if endless is not None:
            read += len(endless)
            return {"type": "http.request", "body": endless, "more_body": read < 64 * ONE_MIB}
        if not chunks:
            return {"type": "http.disconnect"}
        chunk = chunks.pop(0)
        read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    scope = asgi.http_scope(method, path, query_string, headers or [], "testserver")
    sent = asgi.run(app, scope, receive)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    response_headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
    return start["status"], response_headers, content, read


def as_json(values: dict[str, Any]) -> dict[str, Any]:
    """``call`` keywords for a JSON body with its Content-Length."""
    data = json.dumps(values, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    return {"headers": headers, "body": [data]}


# --- 200,000 values ---------------------------------------------------------------------------------


def test_the_rows_api_refuses_a_200k_in_list_naming_the_limit(app, client, loaded):
    path = f"/api/v1/resources/{loaded.resource_id}/rows"
    values = ",".join(f"v{i}" for i in range(MANY))
    status, _, content, _ = call(app, "GET", path, query_string=f"name__in={quote(values)}&limit=5".encode())
    assert status == 422, content[:300]
    error = json.loads(content)["error"]
    assert error["code"] == "store.invalid_query" and error["details"][0]["field"] == "filters"
    assert f"最多 {query.MAX_FILTER_VALUES} 个取值" in error["message"] and str(MANY) in error["message"]
    # the limit itself is usable
    names = ",".join(["青岛港湾科技有限公司0", *(f"v{i}" for i in range(query.MAX_FILTER_VALUES - 1))])
    r = client.get(path, params={"name__in": names, "fields": "name"})
    assert r.status_code == 200 and r.json()["records"] == [{"name": "青岛港湾科技有限公司0"}]


def test_ckan_datastore_search_refuses_a_200k_in_list_naming_the_limit(app_with, loaded):
    app = app_with(request_max_bytes=16 * ONE_MIB)  # let the body in: the list limit is what answers
    body = {"resource_id": loaded.resource_id, "filters": {"name": [f"v{i}" for i in range(MANY)]}}
    status, _, content, _ = call(app, "POST", "/api/3/action/datastore_search", **as_json(body))
    assert status == 409, content[:300]
    answer = json.loads(content)
    assert answer["success"] is False and answer["error"]["__type"] == "Validation Error"
    assert f"最多 {query.MAX_FILTER_VALUES} 个取值" in answer["error"]["filters"][0]
    # the same in a GET query string (no body limit applies there)
    filters = json.dumps({"name": [str(i) for i in range(MANY)]})
    qs = f"resource_id={loaded.resource_id}&filters={quote(filters)}".encode()
    status, _, content, _ = call(app, "GET", "/api/3/action/datastore_search", query_string=qs)
    assert status == 409 and str(query.MAX_FILTER_VALUES) in json.loads(content)["error"]["filters"][0]


def test_the_sandbox_refuses_a_200k_filter_list_naming_the_limit(app_with, loaded):
    app = app_with(request_max_bytes=16 * ONE_MIB)
    body = {"measures": [{"fn": "count"}], "filters": {"district": [f"v{i}" for i in range(MANY)]}}
    path = f"/api/v1/resources/{loaded.resource_id}/sandbox"
    status, _, content, _ = call(app, "POST", path, **as_json(body))
    assert status == 422, content[:300]
    error = json.loads(content)["error"]
    assert error["details"][0]["field"] == "filters"
    assert f"最多 {query.MAX_FILTER_VALUES} 个取值" in error["message"] and str(MANY) in error["message"]
    too_many_fields = {"measures": [{"fn": "count"}], "filters": {f"f{i}": "x" for i in range(query.MAX_FILTERS + 1)}}
    status, _, content, _ = call(app, "POST", path, **as_json(too_many_fields))
    assert status == 422 and f"最多 {query.MAX_FILTERS} 项" in json.loads(content)["error"]["message"]


@pytest.mark.parametrize(
    ("params", "field", "named"),
    [
        ({"staff__gte": "1", **{f"c{i}": "x" for i in range(query.MAX_FILTERS)}}, "filters", "筛选条件过多"),
        ({"sort": ",".join(["name"] * (query.MAX_SORT_KEYS + 1))}, "sort", f"最多 {query.MAX_SORT_KEYS} 个"),
        ({"q": "港" * (query.MAX_Q_LENGTH + 1)}, "q", f"最多 {query.MAX_Q_LENGTH} 个字符"),
        ({"fields": ",".join(["name"] * (query.MAX_FIELDS + 1))}, "fields", f"最多 {query.MAX_FIELDS} 个字段名"),
        ({"cursor": "x" * (query.MAX_CURSOR_LENGTH + 1)}, "cursor", f"最多 {query.MAX_CURSOR_LENGTH} 个字符"),
    ],
)
def test_other_row_query_limits_are_422_naming_the_limit(client, loaded, params, field, named):
    r = client.get(f"/api/v1/resources/{loaded.resource_id}/rows", params=params)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["details"][0]["field"] == field and named in error["message"]


def test_ckan_search_text_and_list_parameters_are_bounded(client):
    r = client.get("/api/3/action/package_search", params={"q": "数据 " * 400})
    assert r.status_code == 400 and "q 过长：最多 1000 个字符" in r.json()["error"]["message"]
    r = client.post("/api/3/action/package_search", json={"fq_list": ["tags:x"] * 1001})
    assert r.status_code == 409 and "最多 1000 项" in r.json()["error"]["fq_list"][0]


def test_the_limits_are_in_the_api_document(client):
    doc = client.get("/api/v1/openapi.json").json()
    rows = doc["paths"]["/api/v1/resources/{resource_id}/rows"]["get"]
    q = next(p for p in rows["parameters"] if p["name"] == "q")
    assert q["schema"]["anyOf"][0]["maxLength"] == query.MAX_Q_LENGTH
    assert f"{query.MAX_FILTER_VALUES} values" in rows["description"]
    sql = next(p for p in doc["paths"]["/api/v1/sql"]["get"]["parameters"] if p["name"] == "sql")
    assert sql["schema"]["maxLength"] == 20_000
    sandbox = doc["components"]["schemas"]["SandboxQuery"]["properties"]["filters"]
    assert sandbox["maxProperties"] == query.MAX_FILTERS
    assert sandbox["additionalProperties"]["anyOf"][-1]["maxItems"] == query.MAX_FILTER_VALUES


# --- body size --------------------------------------------------------------------------------------

CONTENT_TYPES = {"ckan": b"application/json", "api": b"application/json", "web": b"application/x-www-form-urlencoded"}


@pytest.mark.parametrize(
    ("path", "surface"),
    [("/api/3/action/datastore_search", "ckan"), ("/api/v1/sql", "api"), ("/user/login", "web")],
)
def test_a_declared_1gb_body_is_refused_with_413_before_a_byte_is_read(app, path, surface):
    headers = [(b"content-type", CONTENT_TYPES[surface]), (b"content-length", str(1 << 30).encode())]
    status, response_headers, content, read = call(app, "POST", path, headers=headers, endless=b"[" * 65536)
    assert status == 413, content[:300]
    assert read == 0
    assert_named_413(surface, response_headers, content)


@pytest.mark.parametrize(
    ("path", "surface"),
    [("/api/3/action/datastore_search", "ckan"), ("/api/v1/sql", "api"), ("/user/login", "web")],
)
def test_a_streamed_body_is_refused_once_it_passes_the_limit(app, path, surface):
    headers = [(b"content-type", CONTENT_TYPES[surface])]  # no Content-Length: chunked
    status, response_headers, content, read = call(app, "POST", path, headers=headers, endless=b" " * 65536)
    assert status == 413, content[:300]
    assert read <= 2 * (ONE_MIB + 65536)  # the limit, then at most as much again drained for a clean answer
    assert_named_413(surface, response_headers, content)


def assert_named_413(surface: str, headers: dict[str, str], content: bytes) -> None:
    text = content.decode()
    if surface == "ckan":
        body = json.loads(text)
        assert body["success"] is False and "最多 1048576 字节" in body["error"]["message"]
    elif surface == "api":
        error = json.loads(text)["error"]
        assert error["code"] == "request.body_too_large" and "PUBDATA_REQUEST_MAX_BYTES" in error["message"]
        assert error["details"] == {"limit_bytes": ONE_MIB}
    else:
        assert headers["content-type"].startswith("text/html") and "最多 1048576 字节" in text


def test_a_modestly_oversized_json_body_gets_a_clean_413(client):
    r = client.post("/api/v1/sql", json={"sql": "SELECT 1 " + " " * (ONE_MIB + 10)})
    assert r.status_code == 413 and r.json()["error"]["code"] == "request.body_too_large"


def test_uploads_keep_their_own_larger_limit(app_with, session, as_actor, token_for):
    from tests.store.test_jobs import csv_text, make_table

    dept = as_actor("department")
    rid = make_table(session, dept)
    body = csv_text(200).encode()
    app = app_with(request_max_bytes=len(body) // 4)  # the JSON limit is far below the file
    with TestClient(app) as c:
        r = c.post(
            f"/api/v1/resources/{rid}/versions?filename=d.csv",
            content=body,
            headers={"Authorization": f"Bearer {token_for(dept)}"},
        )
        assert r.status_code == 202, r.text
        assert c.post("/api/v1/sql", json={"sql": "SELECT 1" + " " * len(body)}).status_code == 413


# --- a saturated database pool ----------------------------------------------------------------------


@pytest.fixture
def tiny_pool(tmp_path) -> Iterator[Engine]:
    """A database whose pool has one connection and waits 0.1 s for it."""
    engine = make_engine(database_url(tmp_path, "tiny_pool"), pool=PoolLimits(size=1, overflow=0, timeout_s=0.1))
    migrate(engine)
    yield engine
    engine.dispose()


def test_an_exhausted_pool_is_503_with_retry_after_on_every_surface(tiny_pool, settings):
    client = TestClient(create_app(settings, tiny_pool))  # no lifespan: no background workers
    held = tiny_pool.connect()  # another request holds the only connection
    try:
        r = client.get("/api/v1/entries")
        assert r.status_code == 503 and r.headers["Retry-After"] == "2"
        assert r.json()["error"]["code"] == "server.db_busy"
        r = client.get("/api/3/action/package_list")
        assert r.status_code == 503 and r.headers["Retry-After"] == "2"
        assert r.json()["success"] is False and "数据库连接" in r.json()["error"]["message"]
        r = client.get("/dataset")
        assert r.status_code == 503 and r.headers["Retry-After"] == "2" and "服务器繁忙" in r.text
    finally:
        held.close()
    assert client.get("/api/v1/entries").status_code == 200


def _assert_unavailable_everywhere(client: TestClient) -> None:
    r = client.get("/api/v1/entries")
    assert r.status_code == 503 and r.headers["Retry-After"] == "2", r.text
    assert r.json()["error"]["code"] == "server.db_unavailable"
    r = client.get("/api/3/action/package_list")
    assert r.status_code == 503 and r.json()["success"] is False and "无法连接" in r.json()["error"]["message"]
    r = client.get("/dataset")
    assert r.status_code == 503 and r.headers["Retry-After"] == "2" and "服务器繁忙" in r.text


def test_a_database_that_refuses_connections_is_503_not_500(settings):
    # PostgreSQL out of connections ("too many clients"), restarting or down: the same answer as a
    # full pool, so that clients back off and retry instead of seeing a server error
    nobody_listens = create_engine("postgresql+psycopg://postgres@127.0.0.1:9/pubdata", pool_pre_ping=True)
    _assert_unavailable_everywhere(TestClient(create_app(settings, nobody_listens)))
    nobody_listens.dispose()


def test_a_sqlite_database_locked_past_its_busy_timeout_is_503(tmp_path, settings):
    path = tmp_path / "locked.sqlite3"
    impatient = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.05})
    migrate(impatient)  # a rollback journal, not WAL, so that the writer's lock holds readers off too
    holder = sqlite3.connect(path)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing (or a backup's lock), not yet done
    try:
        _assert_unavailable_everywhere(TestClient(create_app(settings, impatient)))
    finally:
        holder.rollback()
        holder.close()
    assert TestClient(create_app(settings, impatient)).get("/api/v1/entries").status_code == 200
    impatient.dispose()


def test_a_failed_statement_is_not_mistaken_for_an_unreachable_database(engine):
    with pytest.raises(OperationalError) as failed, engine.connect() as conn:
        if os.environ.get("PUBDATA_TEST_DATABASE_URL"):
            conn.execute(text("SET statement_timeout = 1"))
            conn.execute(text("SELECT pg_sleep(1)"))  # query_canceled: the statement, not the database
        else:
            conn.execute(text("SELECT * FROM no_such_table"))
    assert not unreachable(failed.value)


# --- concurrency per caller and per process ---------------------------------------------------------


class Hold:
    """A route that holds its request until released (or 5 s), to have requests in progress."""

    def __init__(self, app: FastAPI) -> None:
        self.entered = threading.Semaphore(0)
        self.release = threading.Event()
        self.client = TestClient(app)

        def hold(wait: bool = True) -> dict[str, bool]:
            if wait:
                self.entered.release()
                self.release.wait(5)
            return {"ok": True}

        app.add_api_route("/api/v1/test-hold", hold, methods=["GET"])

    def start(self, headers: dict[str, str]) -> threading.Thread:
        thread = threading.Thread(target=self.client.get, args=("/api/v1/test-hold",), kwargs={"headers": headers})
        thread.start()
        assert self.entered.acquire(timeout=5), "the held request did not start"
        return thread

    def get(self, headers: dict[str, str] | None = None) -> Any:
        return self.client.get("/api/v1/test-hold", params={"wait": "false"}, headers=headers or {})


TOKEN_A = {"Authorization": "Bearer token-of-caller-a"}
TOKEN_B = {"Authorization": "Bearer token-of-caller-b"}


def test_one_caller_over_its_concurrency_gets_429_while_others_are_served(app_with):
    hold = Hold(app_with(caller_max_concurrent=2, server_max_concurrent=0))
    threads = [hold.start(TOKEN_A), hold.start(TOKEN_A)]
    try:
        r = hold.get(TOKEN_A)
        assert r.status_code == 429, r.text
        assert r.headers["Retry-After"] == "1" and r.json()["error"]["code"] == "request.too_many_concurrent"
        assert "最多同时 2 个请求" in r.json()["error"]["message"]
        assert hold.get(TOKEN_B).status_code == 200  # another token
        assert hold.get().status_code == 200  # an anonymous caller
    finally:
        hold.release.set()
        for t in threads:
            t.join(10)
    assert hold.get(TOKEN_A).status_code == 200  # the slots are free again


def test_a_process_at_its_concurrency_limit_answers_503_with_retry_after(app_with):
    hold = Hold(app_with(caller_max_concurrent=0, server_max_concurrent=2))
    threads = [hold.start(TOKEN_A), hold.start(TOKEN_B)]
    try:
        r = hold.get()
        assert r.status_code == 503 and r.headers["Retry-After"] == "1"
        assert r.json()["error"]["code"] == "server.busy"
    finally:
        hold.release.set()
        for t in threads:
            t.join(10)
    assert hold.get().status_code == 200


# --- analytic queries take turns --------------------------------------------------------------------


class SlowSql:
    """``run_sql`` replaced by one that notes who entered and holds until released (then refuses the
    statement, so nothing is read or written): analytic requests in progress."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, client: TestClient) -> None:
        self.entered: list[str] = []
        self.release = threading.Event()
        self.client = client

        def run_sql(session: Any, actor: Any, sql_text: str, **kw: Any) -> Any:
            self.entered.append(sql_text)
            self.release.wait(5)
            raise Invalid("held, then refused", field="sql")

        monkeypatch.setattr(v1_rows.sql, "run_sql", run_sql)

    def start(self, name: str, answers: dict[str, int]) -> threading.Thread:
        def go() -> None:
            answers[name] = self.client.post("/api/v1/sql", json={"sql": name}).status_code

        thread = threading.Thread(target=go)
        thread.start()
        return thread


def _until(predicate: Callable[[], bool], what: str) -> None:
    for _ in range(500):
        if predicate():
            return
        threading.Event().wait(0.01)
    raise AssertionError(what)


def test_analytic_queries_wait_their_turn_in_order_and_others_are_not_held_up(app_with, monkeypatch):
    app = app_with(analytic_max_concurrent=1, analytic_queue_wait_s=5, caller_max_concurrent=0)
    slow = SlowSql(monkeypatch, TestClient(app))
    answers: dict[str, int] = {}
    threads = [slow.start("SELECT 1", answers)]
    _until(lambda: slow.entered == ["SELECT 1"], "the first query did not start")
    threads.append(slow.start("SELECT 2", answers))
    threading.Event().wait(0.2)  # the second is queued before the third
    threads.append(slow.start("SELECT 3", answers))
    threading.Event().wait(0.2)
    try:
        assert slow.entered == ["SELECT 1"], "one analytic query at a time"
        assert slow.client.get("/api/v1/entries").status_code == 200  # not an analytic query: served at once
        slow.release.set()
        for t in threads:
            t.join(10)
    finally:
        slow.release.set()
    assert slow.entered == ["SELECT 1", "SELECT 2", "SELECT 3"]  # in order of arrival
    assert answers == {"SELECT 1": 422, "SELECT 2": 422, "SELECT 3": 422}  # each ran: the route answered


def test_an_analytic_query_that_waits_too_long_is_503_and_leaves_the_queue(app_with, monkeypatch):
    app = app_with(analytic_max_concurrent=1, analytic_queue_wait_s=0.3, caller_max_concurrent=0)
    slow = SlowSql(monkeypatch, TestClient(app))
    answers: dict[str, int] = {}
    first = slow.start("SELECT 1", answers)
    _until(lambda: slow.entered == ["SELECT 1"], "the first query did not start")
    try:
        r = slow.client.post("/api/v1/sql", json={"sql": "SELECT 2"})
        assert r.status_code == 503 and r.headers["Retry-After"] == "1", r.text
        assert r.json()["error"]["code"] == "server.busy" and "排队超过 0.3 秒" in r.json()["error"]["message"]
        r = slow.client.post("/api/3/action/datastore_search_sql", json={"sql": "SELECT 2"})  # CKAN's too
        assert r.status_code == 503 and r.json()["success"] is False
        assert slow.entered == ["SELECT 1"]
    finally:
        slow.release.set()
        first.join(10)
    slow.release.clear()
    later = slow.start("SELECT 3", answers)  # the refused ones left no place behind: the next runs at once
    _until(lambda: slow.entered == ["SELECT 1", "SELECT 3"], "the slot was not freed")
    slow.release.set()
    later.join(10)


def test_the_defaults_are_named_settings():
    defaults = Settings()
    assert defaults.request_max_bytes == ONE_MIB
    assert defaults.caller_max_concurrent == 8 and defaults.db_pool_timeout_s <= 5
