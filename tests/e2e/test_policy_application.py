"""政策通 in a real browser, from push notice to payment: matching tells an enterprise registered in
崂山区 it qualifies for the provincial key platform reward; on a phone it follows the notice to the
prefilled application and applies with its materials; 崂山区商务局 sees it in its queue (and 市南区商务局 does not),
approves an amount within the cap, records the payment; the enterprise sees 已拨付."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from pubdata.authz import SYSTEM
from pubdata.policy.matching import match
from tests import builders
from tests.e2e.conftest import assert_fits
from tests.policy.applicants import PACK, PDF, PLATFORM_FACTS, route_districts, write_facts

pytestmark = pytest.mark.e2e

SCREENSHOTS = "/tmp"
APPLY = "/policies/qingdao-cbec-2023/apply/key_platform"


@pytest.fixture(scope="module")
def cast(live_server: Any) -> dict[str, str]:
    with live_server.session() as s:
        ent = builders.make_org(s, "enterprise", name="青岛浪潮跨境电商有限公司（申报测试）", district="崂山区")
        builders.make_user(s, ent, roles=["enterprise"], username="e2e-ent", display_name="申报专员")
        laoshan = builders.make_org(s, "department", name="青岛市崂山区商务局（申报测试）", district="崂山区")
        builders.make_user(s, laoshan, roles=["department"], username="e2e-ls", display_name="崂山区审核员")
        shinan = builders.make_org(s, "department", name="青岛市市南区商务局（申报测试）", district="市南区")
        builders.make_user(s, shinan, roles=["department"], username="e2e-sn", display_name="市南区审核员")
        route_districts(s, {"崂山区": laoshan.code, "市南区": shinan.code})
        home = Path(live_server.settings.home)
        write_facts(s, home, [{"uscc": ent.uscc, "name": ent.name, **PLATFORM_FACTS}])
        match.match_pack(s, SYSTEM, PACK, home=home)  # the push notice the journey starts from
    return {"enterprise": ent.name}


def test_apply_review_approve_disburse(
    as_user: Any, cast: dict[str, str], page_errors: list[str], tmp_path: Path
) -> None:
    files = []
    for i in range(3):
        path = tmp_path / f"材料{i + 1}.pdf"
        path.write_bytes(PDF)
        files.append(path)

    # the enterprise opens the push notice on its phone and applies: the form is prefilled from its facts
    ent = as_user("e2e-ent", width=390)
    ent.goto("/me/notices")
    ent.click("#notice-list a.notice-title:has-text('省重点培育跨境电商平台奖励')")
    ent.click("#apply-link")
    ent.wait_for_url(re.compile(re.escape(APPLY) + "$"))
    assert ent.locator("#apply-reviewer").inner_text() == "青岛市崂山区商务局（申报测试）"
    assert ent.input_value("#fact-cbec_import_export_amount") == "6000"
    for i, path in enumerate(files):
        ent.set_input_files(f"#material-{i}", str(path))
    assert_fits(ent)
    ent.screenshot(path=f"{SCREENSHOTS}/pubdata-policy-apply-phone.png", full_page=True)
    ent.click("#apply-button")
    ent.wait_for_url(re.compile(r"/applications/\d+$"))
    app_path = urlsplit(ent.url).path
    assert "待审核" in ent.locator("#application-state").inner_text()
    assert ent.locator("#material-list .material-done").count() == 3
    assert_fits(ent)

    # another district's bureau does not see it
    other = as_user("e2e-sn")
    other.goto("/review/applications")
    assert other.locator(f'a[href="{app_path}"]').count() == 0
    assert page_errors == []
    assert other.goto(app_path).status == 404
    page_errors.clear()  # the browser reports the 404 it was meant to get

    # the registered district's bureau reviews: the count in the navigation, the queue, the page
    ls = as_user("e2e-ls")
    ls.wait_for_selector("#application-count.nav-count", timeout=30_000)
    ls.click('a[href="/review/applications"]')
    ls.click(f'#table-pending a[href="{app_path}"] >> nth=0')
    ls.wait_for_url(re.compile(re.escape(app_path) + "$"))
    assert "最高不超过50万元" in ls.locator("#trace").inner_text()
    assert ls.locator("#figure-cap").inner_text() == "50万元"
    ls.fill("#approve-amount", "60")
    ls.click("#approve-button")
    assert "超过本申报的上限" in ls.locator("#approve-error").inner_text()
    assert [e for e in page_errors if "422" not in e] == []
    page_errors.clear()  # the refused amount came back as the 422 page it should be
    ls.fill("#approve-amount", "45")
    ls.fill("#approve-reason", "按平台进出口规模核定")
    ls.screenshot(path=f"{SCREENSHOTS}/pubdata-policy-review.png", full_page=True)
    ls.click("#approve-button")
    ls.wait_for_selector("#disburse-form")
    assert "已核准" in ls.locator("#application-state").inner_text()
    ls.fill("#disburse-reference", "LS-2023-0045")
    ls.click("#disburse-button")
    ls.wait_for_selector("#figure-disbursed")
    assert "已拨付" in ls.locator("#application-state").inner_text()

    # the enterprise follows it to the payment
    ent.goto("/me/applications")
    row = ent.locator(f'#mine-table tr:has(a[href="{app_path}"])')
    assert "已拨付" in row.inner_text() and "核准 45万元" in row.inner_text()
    ent.goto(app_path)
    assert "LS-2023-0045" in ent.locator("#figure-disbursed").inner_text()
    history = ent.locator("#events").inner_text()
    assert "核准" in history and "拨付" in history and "按平台进出口规模核定" in history
    assert_fits(ent)
    ent.screenshot(path=f"{SCREENSHOTS}/pubdata-policy-disbursed-phone.png", full_page=True)
    assert page_errors == []
