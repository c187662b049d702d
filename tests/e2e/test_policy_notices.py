"""政策推送 in a real browser: matching finds an enterprise newly eligible; on its phone the enterprise
sees the unread badge, opens the notice and follows 一键申报 to the prefilled application; a
department sees the reach page with its charts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pubdata.authz import SYSTEM
from pubdata.policy.matching import match
from tests import builders
from tests.e2e.conftest import assert_fits
from tests.policy.applicants import PACK, PLATFORM_FACTS, route_districts, write_facts

pytestmark = pytest.mark.e2e

SCREENSHOTS = "/tmp"


@pytest.fixture(scope="module")
def cast(live_server: Any) -> dict[str, str]:
    with live_server.session() as s:
        ent = builders.make_org(s, "enterprise", name="青岛浪潮跨境电商有限公司（推送测试）", district="崂山区")
        builders.make_user(s, ent, roles=["enterprise"], username="e2e-push", display_name="推送专员")
        laoshan = builders.make_org(s, "department", name="青岛市崂山区商务局（推送测试）", district="崂山区")
        builders.make_user(s, laoshan, roles=["department"], username="e2e-push-ls", display_name="崂山区审核员")
        route_districts(s, {"崂山区": laoshan.code})
        home = Path(live_server.settings.home)
        write_facts(s, home, [{"uscc": ent.uscc, "name": ent.name, **PLATFORM_FACTS}])
        match.match_pack(s, SYSTEM, PACK, home=home)
    return {"enterprise": ent.name}


def test_notice_to_one_click_application_on_a_phone(as_user: Any, cast: dict[str, str], page_errors: list[str]) -> None:
    ent = as_user("e2e-push", width=390)
    badge = ent.wait_for_selector("#notice-count.nav-count", timeout=30_000)
    assert badge.inner_text() == "2"  # the key platform (up to 50万) and the independent site (6万)
    ent.click('a[href="/me/notices"]')
    ent.wait_for_url(re.compile(r"/me/notices$"))
    items = ent.locator("#notice-list .notice-unread")
    assert items.count() == 2
    assert "最高50万元" in ent.locator("#notice-list").inner_text()
    assert_fits(ent)
    ent.screenshot(path=f"{SCREENSHOTS}/pubdata-policy-notices-phone.png", full_page=True)

    ent.click("#notice-list a.notice-title:has-text('省重点培育跨境电商平台奖励')")
    ent.wait_for_url(re.compile(r"/me/notices/\d+$"))
    assert "含基础奖励10万元" in ent.locator("#notice").inner_text()
    assert_fits(ent)
    ent.click("#apply-link")
    ent.wait_for_url(re.compile(r"/policies/qingdao-cbec-2023/apply/key_platform$"))
    assert ent.input_value("#fact-cbec_import_export_amount") == "6000"  # prefilled from its facts
    assert ent.locator("#notice-count.nav-count").inner_text() == "1"  # the opened notice is read

    ent.goto("/me/policies")
    assert ent.locator("#eligible .calc-yes").count() == 2
    assert_fits(ent)
    assert page_errors == []


def test_reach_page_with_charts(as_user: Any, cast: dict[str, str], page_errors: list[str]) -> None:
    dept = as_user("e2e-push-ls")
    dept.goto(f"/policies/{PACK}/reach")
    dept.wait_for_selector("#chart-districts canvas")
    dept.wait_for_selector("#chart-amounts canvas")
    assert dept.locator("#figure-eligible .figure-value").inner_text() == "1"
    assert "崂山区" in dept.locator("#reach-districts").inner_text()
    dept.screenshot(path=f"{SCREENSHOTS}/pubdata-policy-reach.png", full_page=True)
    phone = as_user("e2e-push-ls", width=390)
    phone.goto(f"/policies/{PACK}/reach")
    phone.wait_for_selector("#chart-districts canvas")
    assert_fits(phone)
    phone.screenshot(path=f"{SCREENSHOTS}/pubdata-policy-reach-phone.png", full_page=True)
    assert page_errors == []
