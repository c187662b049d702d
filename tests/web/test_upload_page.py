"""The portal's upload page: who may see it, the CSRF-protected streamed form, and the job page whose
htmx partial polls until the job ends."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from pubdata.catalog import service as catalog
from pubdata.store.jobs import queue as jobs
from pubdata.store.jobs import runner as job_runner
from pubdata.store.models import StoreJob
from tests.store.test_jobs import csv_text, make_table
from tests.web.helpers import hidden_field, login


@pytest.fixture
def owner_table(session, as_actor):
    dept = as_actor("department")
    rid = make_table(session, dept)
    return dept, catalog.get_resource(session, dept, rid).entry.name, rid


def upload_url(name: str, rid: str) -> str:
    return f"/dataset/{name}/resource/{rid}/upload"


def jobs_of(session, rid: str) -> list[StoreJob]:
    return list(session.query(StoreJob).filter_by(resource_id=rid))


def test_visitors_are_sent_to_sign_in(client, owner_table):
    _, name, rid = owner_table
    for r in (
        client.get(upload_url(name, rid), follow_redirects=False),
        client.post(upload_url(name, rid), files={"file": ("a.csv", b"x")}, follow_redirects=False),
    ):
        assert r.status_code == 303
        assert r.headers["location"] == "/user/login?next=" + quote(upload_url(name, rid))


@pytest.mark.parametrize("role", ["enterprise", "department", "regulator"])
def test_only_the_entrys_department_or_the_operator_may_upload(client, session, owner_table, as_actor, role):
    _, name, rid = owner_table
    login(client, as_actor(role).username)
    r = client.get(upload_url(name, rid))
    assert r.status_code == 403 and "禁止访问" in r.text
    r = client.post(upload_url(name, rid), files={"file": ("a.csv", b"x")})
    assert r.status_code == 403
    assert jobs_of(session, rid) == []


def test_the_owner_uploads_a_file_and_follows_the_job_to_its_result(client, session, settings, owner_table):
    dept, name, rid = owner_table
    login(client, dept.username)
    page = client.get(upload_url(name, rid))
    assert page.status_code == 200 and "上传新版本" in page.text and 'enctype="multipart/form-data"' in page.text
    token = hidden_field(page.text, "csrf_token")

    r = client.post(
        upload_url(name, rid),
        data={"csrf_token": token},
        files={"file": ("企业名录.csv", csv_text(15).encode(), "text/csv")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    (job,) = jobs_of(session, rid)
    assert r.headers["location"] == f"{upload_url(name, rid)}/{job.id}"
    assert (job.state, job.source_name, job.created_via) == ("queued", "企业名录.csv", "portal")

    waiting = client.get(r.headers["location"])
    assert waiting.status_code == 200 and "排队中" in waiting.text
    partial = client.get(r.headers["location"], headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith('<div id="job-status"')  # only the region, not the layout
    assert 'hx-trigger="every 1s"' in partial.text and "<html" not in partial.text
    assert partial.headers["vary"] == "HX-Request"

    job_runner.run_job_inline(session, job.id, home=settings.resolved_home)

    done = client.get(r.headers["location"], headers={"HX-Request": "true"})
    assert "hx-trigger" not in done.text  # finished: polling stops
    assert re.search(r'id="rows-loaded">15<', done.text) and "已发布" in done.text
    assert 'id="quality-score"' in done.text
    assert f'href="/dataset/{name}"' in done.text
    listing = client.get(upload_url(name, rid))
    assert "企业名录.csv" in listing.text and "版本 1（已发布）" in listing.text


def test_a_failed_job_shows_its_reason(client, session, settings, owner_table):
    dept, name, rid = owner_table
    login(client, dept.username)
    token = hidden_field(client.get(upload_url(name, rid)).text, "csrf_token")
    r = client.post(
        upload_url(name, rid),
        data={"csrf_token": token},
        files={"file": ("bad.csv", b"uscc\n1\n")},
        follow_redirects=False,
    )
    (job,) = jobs_of(session, rid)
    job_runner.run_job_inline(session, job.id, home=settings.resolved_home)
    page = client.get(r.headers["location"])
    assert "导入失败" in page.text and "缺少字段" in page.text


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_a_form_without_the_right_csrf_token_is_refused_before_the_file_is_kept(
    client, session, settings, owner_table, token
):
    dept, name, rid = owner_table
    login(client, dept.username)
    before = sorted(jobs.uploads_root(settings.resolved_home).glob("*"))
    data = {"csrf_token": token} if token else {}
    r = client.post(upload_url(name, rid), data=data, files={"file": ("a.csv", csv_text(3).encode())})
    assert r.status_code == 403 and "CSRF" in r.text
    assert jobs_of(session, rid) == []
    assert sorted(jobs.uploads_root(settings.resolved_home).glob("*")) == before


def test_the_csrf_token_must_come_before_the_file(client, session, owner_table):
    dept, name, rid = owner_table
    login(client, dept.username)
    token = hidden_field(client.get(upload_url(name, rid)).text, "csrf_token")
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
        + csv_text(2).encode()
        + b'\r\n--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        + token.encode()
        + b"\r\n--b--\r\n"
    )
    r = client.post(upload_url(name, rid), content=body, headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 403
    assert jobs_of(session, rid) == []


def test_an_unsupported_file_shows_the_form_again_with_the_reason(client, session, owner_table):
    dept, name, rid = owner_table
    login(client, dept.username)
    token = hidden_field(client.get(upload_url(name, rid)).text, "csrf_token")
    r = client.post(upload_url(name, rid), data={"csrf_token": token}, files={"file": ("报告.docx", b"x")})
    assert r.status_code == 422
    assert 'id="upload-error"' in r.text and "不支持的文件格式：.docx" in r.text and 'id="upload-form"' in r.text
    assert jobs_of(session, rid) == []


def test_a_job_page_under_another_resource_or_of_another_department_is_not_found(
    client, session, settings, owner_table, as_actor
):
    dept, name, rid = owner_table
    upload = jobs.begin_upload(session, dept, rid, settings.resolved_home)
    path = upload.directory / "source.csv"
    path.write_text(csv_text(1))
    job = jobs.queue_ingest(session, dept, upload, path=path, source_name="a.csv", via="api")
    other_rid = make_table(session, dept)
    login(client, dept.username)
    assert client.get(f"{upload_url(name, rid)}/{job.id}").status_code == 200
    assert client.get(f"{upload_url(name, other_rid)}/{job.id}").status_code == 404
    client.cookies.clear()
    login(client, as_actor("department").username)
    assert client.get(f"{upload_url(name, rid)}/{job.id}").status_code == 404
