"""The whole access flow in a real browser: a bank asks for a conditionally open table of personal
data, the publishing department narrows the request, the operator grants it with quotas, and the bank
then sees the masked, filtered preview on the resource page and its usage on the grants page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests import builders
from tests.access.people import load_people
from tests.e2e.conftest import assert_fits

pytestmark = pytest.mark.e2e

SCREENSHOTS = "/tmp"


@pytest.fixture(scope="module")
def cast(live_server: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    with live_server.session() as s:
        health = builders.make_org(s, name="青岛市医疗保障局（申请测试）")
        owner = builders.actor_of(builders.make_user(s, health, roles=["department"], username="e2e-ybj"))
        people = load_people(s, owner, Path(live_server.settings.home), tmp_path_factory.mktemp("people"))
        bank = builders.make_org(s, kind="bank", name="青岛银行（申请测试）")
        builders.make_user(s, bank, roles=["bank"], username="e2e-bank", display_name="信贷经理")
        operator = builders.make_org(s, kind="operator", name="青岛市大数据运营公司（申请测试）")
        builders.make_user(s, operator, roles=["operator"], username="e2e-operator", display_name="运营审核员")
    return {"entry": people.entry_name, "rid": people.resource_id}


def test_request_narrow_grant_and_see_masked_rows(as_user: Any, cast: dict[str, str], page_errors: list[str]) -> None:
    resource_path = f"/dataset/{cast['entry']}/resource/{cast['rid']}"

    # the bank finds the table, may not read it, and asks for four fields
    bank = as_user("e2e-bank")
    bank.goto(resource_path)
    assert bank.locator("#rows-forbidden").count() == 1
    bank.click("#request-access")
    bank.wait_for_url(re.compile(re.escape(resource_path) + "/request$"))
    bank.fill("#req-scenario", "普惠金融授信")
    bank.fill("#req-purpose", "核验小微企业主的身份与医保缴费情况，用于信用贷款审批")
    for name in ("name", "id_number", "phone", "district"):
        bank.check(f'#req-fields input[value="{name}"]')
    bank.fill("#req-rows", "5000")
    bank.click("#request-form button[type=submit]")
    bank.wait_for_url(re.compile(r"/access/requests/\d+$"))
    request_path = urlsplit(bank.url).path
    assert "待部门审核" in bank.locator("#request-title + .entry-badges").inner_text()
    assert "身份证号（370202********1234）" in bank.locator("#request-fields").inner_text()

    # the department sees one request waiting in the navigation, drops the ID number, keeps one district
    dept = as_user("e2e-ybj")
    dept.wait_for_selector("#review-count.nav-count", timeout=30_000)
    assert dept.locator("#review-count").inner_text() == "1"
    dept.click('a[href="/access/requests"]')
    dept.click(f'#review-table a[href="{request_path}"] >> nth=0')
    dept.wait_for_url(re.compile(re.escape(request_path) + "$"))
    dept.uncheck('#approve-form input[name="fields"][value="id_number"]')
    dept.fill("#dec-row-filter", "district = '崂山区'")
    dept.fill("#dec-reason", "仅开放崂山区试点数据")
    dept.screenshot(path=f"{SCREENSHOTS}/pubdata-access-review.png", full_page=True)
    dept.click("#approve-button")
    dept.wait_for_selector("text=待运营方审核")
    history = dept.locator("#decisions").inner_text()
    assert "同意（收窄范围）" in history and "district = '崂山区'" in history
    assert dept.locator("#review-count.nav-count").count() == 0

    # the operator grants with a daily row quota
    operator = as_user("e2e-operator")
    operator.goto(request_path)
    operator.fill("#dec-rows", "500")
    operator.fill("#dec-calls", "100")
    operator.click("#approve-button")
    operator.wait_for_selector("#grant-status")
    assert "已授权" in operator.locator("#request-title + .entry-badges").inner_text()
    operator.goto("/audit")
    trail = operator.locator("#audit-table").inner_text()
    assert "审核同意" in trail and "提交申请" not in trail  # the operator's own actions, not the whole trail
    operator.screenshot(path=f"{SCREENSHOTS}/pubdata-access-audit.png", full_page=True)

    # the bank now reads the preview: names and phones masked, one district, no ID numbers
    bank.goto(resource_path)
    table = bank.locator("#rows-table")
    headers = table.locator("thead th").all_inner_texts()
    assert "id_number" not in " ".join(headers) and "身份证" not in " ".join(headers)
    rows = [row.locator("td").all_inner_texts() for row in table.locator("tbody tr").all()]
    assert rows and all(r[3] == "崂山区" for r in rows)
    assert all(re.fullmatch(r"\w\*+", r[1]) for r in rows), rows  # 张*
    assert all(re.fullmatch(r"138\*{4}\d{4}", r[2]) for r in rows), rows
    bank.screenshot(path=f"{SCREENSHOTS}/pubdata-access-preview.png", full_page=True)

    bank.goto("/access/grants")
    card = bank.locator("#held .grant-card").first
    assert "生效中" in card.inner_text()
    assert card.locator(".usage-used").all_inner_texts() == ["1", str(len(rows))]
    assert "/ 500" in card.locator("[id^=rows-]").inner_text()
    bank.screenshot(path=f"{SCREENSHOTS}/pubdata-access-grants.png", full_page=True)
    assert page_errors == []

    # on a phone the pages fit the screen: no sideways scrolling
    phone = as_user("e2e-bank", width=390)
    for path in ("/access/requests", request_path, "/access/grants", "/audit", resource_path + "/request"):
        phone.goto(path)
        assert_fits(phone)
    phone.goto(request_path)
    phone.screenshot(path=f"{SCREENSHOTS}/pubdata-access-phone.png", full_page=True)
    assert page_errors == []
