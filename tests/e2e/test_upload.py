"""Uploading a CSV through the portal in a real browser: sign in as the entry's department, choose a
file, watch the job's progress (htmx polling against the live server's runner) until it finishes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pubdata.catalog import service as catalog
from tests import builders
from tests.store.test_jobs import csv_text, make_table

pytestmark = pytest.mark.e2e

SCREENSHOTS = "/tmp"


@pytest.fixture(scope="module")
def department_table(live_server: Any) -> dict[str, str]:
    with live_server.session() as s:
        org = builders.make_org(s, name="青岛市市场监督管理局（上传测试）")
        user = builders.make_user(s, org, roles=["department"], username="e2e-uploader")
        actor = builders.actor_of(user)
        rid = make_table(s, actor)
        name = catalog.get_resource(s, actor, rid).entry.name
    return {"username": "e2e-uploader", "entry": name, "rid": rid}


def sign_in(page: Any, username: str, next_path: str) -> None:
    page.goto(next_path)  # not signed in: sent to the sign-in form, then back
    page.wait_for_url(re.compile(r"/user/login\?next="))
    page.fill("#login-username", username)
    page.fill("#login-password", builders.PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(re.escape(next_path) + "$"), timeout=60_000)


def test_upload_a_csv_and_see_it_finish(
    page: Any, department_table: dict[str, str], tmp_path: Path, page_errors: list[str]
) -> None:
    upload_path = f"/dataset/{department_table['entry']}/resource/{department_table['rid']}/upload"
    sign_in(page, department_table["username"], upload_path)
    assert "上传新版本" in page.locator("#upload-title").inner_text()

    data = tmp_path / "市场主体名录.csv"
    data.write_text(csv_text(5_000, bad=3), encoding="utf-8")
    page.set_input_files("#upload-file", str(data))
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(re.escape(upload_path) + "/[0-9a-f-]{36}$"), timeout=60_000)
    assert page.locator("#job-status").count() == 1

    # the partial is swapped in every second until the job has finished
    page.wait_for_selector('#job-status[data-state="succeeded"]', timeout=120_000)
    assert page.locator("#job-state").inner_text() == "已完成"
    assert page.locator("#rows-loaded").inner_text() == "5,000"
    assert page.locator("#rows-rejected").inner_text() == "3"
    assert page.locator("#job-percent").inner_text() == "100%"
    assert "已发布" in page.locator("#job-result").inner_text()
    rejects = page.locator("#rejects-link").get_attribute("href")
    assert rejects == f"/api/v1/resources/{department_table['rid']}/versions/1/rejects.csv"
    assert page.request.get(rejects).text().lstrip("\ufeff").startswith("row,column,value,reason\n5001,uscc,")
    page.screenshot(path=f"{SCREENSHOTS}/pubdata-upload-done.png", full_page=True)

    page.click("#back-to-entry")
    page.wait_for_url(re.compile(f"/dataset/{department_table['entry']}$"))
    assert page_errors == []
