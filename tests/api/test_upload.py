"""Streamed upload of a new version (raw body or multipart) and the ingest jobs it queues: in-process
with the test's transaction (jobs run inline), and against a live server whose runner runs them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from pubdata.authz import SYSTEM
from pubdata.identity import service as identity
from pubdata.store.jobs import queue as jobs
from pubdata.store.jobs import runner as job_runner
from tests import asgi, builders
from tests.store.test_jobs import csv_text, make_table


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def dept_table(session, as_actor, token_for):
    dept = as_actor("department")
    return dept, make_table(session, dept), auth(token_for(dept))


def uploads(settings) -> list[Path]:
    root = jobs.uploads_root(settings.resolved_home)
    return sorted(root.iterdir()) if root.exists() else []


def test_raw_body_upload_queues_a_job_that_publishes_the_version(client, session, settings, dept_table):
    dept, rid, headers = dept_table
    body = csv_text(25).encode()
    before = uploads(settings)
    r = client.post(
        f"/api/v1/resources/{rid}/versions?filename=企业名录.csv",
        content=body,
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"/api/v1/jobs/{job['id']}"
    assert (job["state"], job["source_name"], job["bytes_received"]) == ("queued", "企业名录.csv", len(body))
    assert job["created_by"] == dept.username and job["created_via"] == "api"
    stored = jobs.upload_dir(settings.resolved_home, job["id"]) / "source.csv"
    assert stored.read_bytes() == body  # exactly the bytes sent
    assert len(uploads(settings)) == len(before) + 1

    job_runner.run_job_inline(session, job["id"], home=settings.resolved_home)

    r = client.get(r.headers["location"], headers=headers)
    assert r.status_code == 200
    done = r.json()
    assert (done["state"], done["percent"]) == ("succeeded", 100)
    assert (done["result"]["version"], done["result"]["rows_loaded"], done["result"]["state"]) == (1, 25, "published")
    assert set(done["result"]) >= {"version", "rows_loaded", "rows_rejected", "quality", "rejects_file", "state"}
    rejects = done["result"]["rejects_file"]  # the download, not the server's file path
    assert rejects is None or rejects == f"/api/v1/resources/{rid}/versions/1/rejects.csv"
    listed = client.get(f"/api/v1/resources/{rid}/jobs", headers=headers).json()
    assert [j["id"] for j in listed] == [job["id"]]
    versions = client.get(f"/api/v1/resources/{rid}/versions").json()
    assert versions[0]["number"] == 1 and versions[0]["current"] is True
    assert not stored.exists()


def test_multipart_upload_takes_the_file_field_and_its_name(client, session, settings, dept_table):
    _, rid, headers = dept_table
    r = client.post(
        f"/api/v1/resources/{rid}/versions",
        files={"file": ("市场主体.csv", csv_text(7).encode(), "text/csv")},
        data={"note": "月度更新"},
        headers=headers,
    )
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["source_name"] == "市场主体.csv"
    done = job_runner.run_job_inline(session, job["id"], home=settings.resolved_home)
    assert done.result is not None and done.result["rows_loaded"] == 7


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"Content-Disposition": "attachment; filename*=UTF-8''" + quote("登记 信息.csv")}, "登记 信息.csv"),
        ({"Content-Disposition": 'attachment; filename="export.CSV"'}, "export.CSV"),
        ({"Content-Type": "application/x-ndjson"}, "upload.jsonl"),
    ],
)
def test_the_name_comes_from_content_disposition_or_the_content_type(client, dept_table, extra, expected):
    _, rid, headers = dept_table
    r = client.post(f"/api/v1/resources/{rid}/versions", content=b"x", headers={**headers, **extra})
    assert r.status_code == 202, r.text
    assert r.json()["source_name"] == expected


@pytest.mark.parametrize(
    ("url", "content_type", "body", "message"),
    [
        ("", "application/octet-stream", b"x", "缺少文件名"),
        ("?filename=report.docx", "application/octet-stream", b"x", "不支持的文件格式：.docx"),
        ("?filename=data.csv", "text/csv", b"", "上传的文件为空"),
        ("", "multipart/form-data; boundary=xyz", b"--xyz\r\nbroken", "multipart/form-data"),
    ],
)
def test_bad_uploads_are_422_naming_the_problem_and_leave_no_file(
    client, settings, dept_table, url, content_type, body, message
):
    _, rid, headers = dept_table
    before = uploads(settings)
    r = client.post(
        f"/api/v1/resources/{rid}/versions{url}", content=body, headers={**headers, "Content-Type": content_type}
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "store.invalid_upload"
    assert message in r.json()["error"]["message"]
    assert uploads(settings) == before


def test_a_multipart_form_without_a_file_is_422(client, dept_table):
    _, rid, headers = dept_table
    r = client.post(
        f"/api/v1/resources/{rid}/versions", data={"file": "not a file"}, files={"x": ("a.csv", b"1")}, headers=headers
    )
    assert r.status_code == 422 and "没有文件" in r.json()["error"]["message"]


def test_an_upload_past_the_size_limit_is_413_and_nothing_is_kept(app, client, settings, dept_table):
    _, rid, headers = dept_table
    app.state.settings = settings.model_copy(update={"upload_max_bytes": 1000})
    before = uploads(settings)
    url = f"/api/v1/resources/{rid}/versions?filename=big.csv"
    declared = client.post(url, content=b"x" * 5000, headers=headers)  # refused from Content-Length
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "store.upload_too_large"
    assert "上传的文件过大" in declared.json()["error"]["message"]
    streamed = client.post(url, content=iter([b"y" * 600, b"y" * 600]), headers=headers)  # chunked: counted
    assert streamed.status_code == 413
    form = client.post(url, files={"file": ("big.csv", b"z" * 3000, "text/csv")}, headers=headers)
    assert form.status_code == 413
    assert uploads(settings) == before
    ok = client.post(url, content=b"a" * 1000, headers=headers)
    assert ok.status_code == 202


def test_who_may_upload(client, session, settings, as_actor, token_for):
    dept = as_actor("department")
    rid = make_table(session, dept)
    url = f"/api/v1/resources/{rid}/versions?filename=d.csv"
    before = uploads(settings)
    assert client.post(url, content=b"x").status_code == 401
    for role in ("department", "enterprise", "regulator"):
        r = client.post(url, content=b"x", headers=auth(token_for(as_actor(role))))
        assert r.status_code == 403, role
    read_only = auth(token_for(dept, scopes=["read"]))  # a token narrowed to reading
    assert client.post(url, content=b"x", headers=read_only).status_code == 403
    assert uploads(settings) == before
    assert client.post(url, content=b"x", headers=auth(token_for(as_actor("operator")))).status_code == 202
    assert client.post(url, content=b"x", headers=auth(token_for(dept))).status_code == 202
    assert client.post("/api/v1/resources/no-such-resource/versions?filename=d.csv", content=b"x").status_code == 404


def call_asgi(app, path: str, query: bytes, token: str, messages: list[dict[str, Any]]) -> tuple[list, list]:
    """Call the application directly, handing it the request body as the given ASGI messages;
    returns (how many messages it asked for, what it sent)."""
    asked: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        message = messages[len(asked)] if len(asked) < len(messages) else {"type": "http.disconnect"}
        asked.append(message)
        return message

    scope = asgi.http_scope("POST", path, query, [(b"authorization", f"Bearer {token}".encode())], "t")
    sent = asgi.run(app, scope, receive)
    return asked, sent


def test_the_body_is_not_read_before_the_permission_check(app, session, as_actor, token_for):
    rid = make_table(session, as_actor("department"))
    body = [{"type": "http.request", "body": b"uscc\n1\n", "more_body": False}]
    asked, sent = call_asgi(
        app, f"/api/v1/resources/{rid}/versions", b"filename=d.csv", token_for(as_actor("department")), body
    )
    assert sent[0]["status"] == 403
    assert asked == []


def test_an_upload_cut_off_by_the_client_leaves_no_job_and_no_file(app, session, settings, dept_table):
    dept, rid, headers = dept_table
    before = uploads(settings)
    first = {"type": "http.request", "body": csv_text(50).encode(), "more_body": True}
    asked, sent = call_asgi(
        app,
        f"/api/v1/resources/{rid}/versions",
        b"filename=d.csv",
        headers["Authorization"].split()[1],
        [first, {"type": "http.disconnect"}],
    )
    assert len(asked) >= 2 and sent[0]["status"] == 422
    assert uploads(settings) == before
    assert jobs.list_jobs(session, dept, rid) == []


def test_jobs_are_hidden_from_those_who_may_not_see_them(client, session, settings, dept_table, as_actor, token_for):
    _, rid, headers = dept_table
    job = client.post(f"/api/v1/resources/{rid}/versions?filename=d.csv", content=b"x", headers=headers).json()
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=auth(token_for(as_actor("operator")))).status_code == 200
    other = auth(token_for(as_actor("department")))
    r = client.get(f"/api/v1/jobs/{job['id']}", headers=other)
    assert r.status_code == 404 and r.json()["error"]["code"] == "store.job_not_found"
    assert client.get(f"/api/v1/jobs/{job['id']}").status_code == 404
    assert client.get(f"/api/v1/resources/{rid}/jobs", headers=other).status_code == 403
    assert client.get(f"/api/v1/resources/{rid}/jobs").status_code == 401


# --- a live server: real HTTP, the runner's own threads ----------------------------------------


@pytest.fixture(scope="module")
def live_table(live_server) -> tuple[str, dict[str, str]]:
    with live_server.session() as s:
        org = builders.make_org(s, "department")
        dept = builders.actor_of(builders.make_user(s, org, roles=["department"]))
        rid = make_table(s, dept)
        _, secret = identity.create_token(
            s, SYSTEM, name="upload", scopes=["read", "catalog:write"], days=1, username=dept.username
        )
    return rid, auth(secret)


def big_csv(path: Path, rows: int) -> Path:
    path.write_text(csv_text(rows), encoding="utf-8")
    return path


def follow(url: str, location: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        job = httpx.get(url + location, headers=headers).json()
        if job["state"] in ("succeeded", "failed"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def chunks(path: Path, size: int = 256 * 1024) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while block := fh.read(size):
            yield block


def test_a_multi_megabyte_upload_streams_to_a_live_server_and_is_loaded(live_server, live_table, tmp_path):
    rid, headers = live_table
    path = big_csv(tmp_path / "登记信息.csv", 120_000)
    size = path.stat().st_size
    assert size > 5 * 1024 * 1024
    with httpx.Client(base_url=live_server.url, timeout=120) as http:
        r = http.post(
            f"/api/v1/resources/{rid}/versions",
            params={"filename": path.name},
            content=chunks(path),  # chunked transfer: the server never sees a Content-Length
            headers={**headers, "Content-Type": "text/csv"},
        )
    assert r.status_code == 202, r.text
    assert r.json()["bytes_received"] == size
    job = follow(live_server.url, r.headers["location"], headers)
    assert job["state"] == "succeeded", job
    assert (job["result"]["state"], job["result"]["rows_loaded"], job["rows_so_far"]) == ("published", 120_000, 120_000)
    assert not jobs.upload_dir(live_server.settings.resolved_home, job["id"]).exists()

    with httpx.Client(base_url=live_server.url, timeout=120) as http, open(path, "rb") as fh:
        r = http.post(f"/api/v1/resources/{rid}/versions", files={"file": (path.name, fh, "text/csv")}, headers=headers)
    assert r.status_code == 202, r.text
    job = follow(live_server.url, r.headers["location"], headers)
    assert job["state"] == "succeeded" and job["result"]["version"] == 2
    versions = httpx.get(f"{live_server.url}/api/v1/resources/{rid}/versions").json()
    assert [(v["number"], v["current"]) for v in versions] == [(2, True), (1, False)]
    listed = httpx.get(f"{live_server.url}/api/v1/resources/{rid}/jobs", headers=headers).json()
    assert len(listed) == 2 and all(j["state"] == "succeeded" for j in listed)


def test_a_bad_file_on_a_live_server_fails_its_job_with_the_reason(live_server, live_table):
    rid, headers = live_table
    r = httpx.post(
        f"{live_server.url}/api/v1/resources/{rid}/versions?filename=bad.csv",
        content=b"uscc,name\n1,2\n",
        headers=headers,
    )
    assert r.status_code == 202
    job = follow(live_server.url, r.headers["location"], headers)
    assert job["state"] == "failed" and job["error"]["code"] == "store.invalid_source"
    assert "缺少字段 capital" in job["error"]["message"]
