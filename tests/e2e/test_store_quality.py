"""The entry page's data-store section in a real browser: the score trend drawn by ECharts, the
publisher's rejects download, and the phone layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from pubdata.standards import uscc_with_check
from pubdata.store import service
from pubdata.store.ingest import load as ingest
from pubdata.store.schemas import TableCreate
from tests import builders

pytestmark = pytest.mark.e2e

SCHEMA = {
    "fields": [
        {"name": "uscc", "type": "string", "semanticType": "uscc", "title": "统一社会信用代码"},
        {"name": "capital", "type": "number", "semanticType": "amount", "title": "注册资本"},
    ],
    "primaryKey": "uscc",
}


@pytest.fixture(scope="module")
def table(live_server: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("store-e2e")
    codes = [uscc_with_check(f"91370200MA{i:07d}") for i in range(60)]
    with live_server.session() as s:
        org = builders.make_org(s, name="青岛市市场监督管理局")
        user = builders.make_user(s, org, username="e2e-publisher", roles=["department"])
        dept = builders.actor_of(user)
        entry = builders.make_entry(s, dept, title="市场主体注册资本", update_frequency="monthly")
        created = service.create_table(
            s, dept, entry.code, TableCreate(name="注册资本", schema=SCHEMA, reject_threshold=0.5)
        )
        for n in (1, 2, 3):
            bad = ["91370200MA0000000X,100"] * (3 - n)  # fewer bad codes in each version
            path = tmp / f"v{n}.csv"
            path.write_text(
                "uscc,capital\n" + "\n".join([*(f"{c},{100 + i}" for i, c in enumerate(codes[: 20 * n])), *bad])
            )
            ingest.ingest(s, dept, created.resource_id, path, home=live_server.settings.resolved_home)
        return {"entry": entry.name, "rid": created.resource_id}


def test_the_trend_chart_draws_every_published_version(
    page: Any, table: dict, live_server: Any, page_errors: list[str]
) -> None:
    page.goto(f"/dataset/{table['entry']}")
    chart = page.locator(".quality-trend")
    chart.locator("canvas").wait_for()
    scores = page.evaluate(
        "() => echarts.getInstanceByDom(document.querySelector('.quality-trend')).getOption().series[0].data"
    )
    trend = httpx.get(f"{live_server.url}/api/v1/resources/{table['rid']}/quality").json()["trend"]
    assert scores == [p["score"] for p in trend] and len(scores) == 3
    assert page.locator(".store-versions tbody tr").count() == 3
    assert page.locator(".store-table", has_text="上传新版本").count() == 0
    page.locator(".store-table").screenshot(path="/tmp/pubdata-store-quality.png")
    assert page_errors == []


def test_the_publisher_downloads_the_rejects_of_a_version(page: Any, table: dict, page_errors: list[str]) -> None:
    page.goto(f"/user/login?next=/dataset/{table['entry']}")
    page.fill("#login-username", "e2e-publisher")
    page.fill("#login-password", builders.PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"**/dataset/{table['entry']}")
    link = page.locator(".store-versions a", has_text="下载")
    assert link.count() == 2  # v1 and v2 had rejected rows, v3 none
    with page.expect_download() as info:
        link.first.click()
    content = Path(info.value.path()).read_bytes()
    assert content.startswith(b"\xef\xbb\xbf") and "统一社会信用代码校验位错误" in content.decode("utf-8-sig")
    assert page.locator(".store-table a", has_text="上传新版本").count() == 1
    assert page_errors == []


def test_the_section_fits_a_phone(browser: Any, live_server: Any, table: dict) -> None:
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 390, "height": 844},
                                  reduced_motion="reduce")  # fmt: skip
    page = context.new_page()
    try:
        page.goto(f"/dataset/{table['entry']}")
        page.locator(".quality-trend canvas").wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
