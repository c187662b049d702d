"""数据信托 in a real browser: a data merchant holding a registered data asset sets up a trust on the
form (shares that do not sum to one are refused on the page, then corrected), the operator approves
the draft on the trust's page, and a beneficiary enterprise finds the trust on 数据信托 with its share
as a fraction and a percentage and the asset linking to its certificate."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pubdata.assets.registry.schemas import SourceIn
from pubdata.standards import uscc_with_check
from tests import builders
from tests.assets.registry.test_fingerprint import _load
from tests.assets.registry.test_registry import DATA, _entry_code, apply, registered

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cast(live_server: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    with live_server.session() as s:
        dept_org = builders.make_org(s, "department", uscc=uscc_with_check("11370200MB0009001"))
        department = builders.actor_of(builders.make_user(s, dept_org, roles=["department"]))
        merchant_org = builders.make_org(s, "data_merchant", name="青岛数智港科技（信托测试）",
                                         uscc=uscc_with_check("91370200MB0009002"))  # fmt: skip
        merchant = builders.actor_of(
            builders.make_user(s, merchant_org, roles=["data_merchant"], username="e2e-trust-merchant")
        )
        operator = builders.actor_of(
            builders.make_user(s, builders.make_org(s, "operator"), roles=["operator"], username="e2e-trust-operator")
        )
        trustee_org = builders.make_org(s, "trust_company", name="海晟信托有限责任公司（测试）")
        builders.make_user(s, trustee_org, roles=["trustee"], username="e2e-trustee")
        ent_org = builders.make_org(s, "enterprise", name="青岛海岸线跨境电子商务（信托测试）")
        builders.make_user(s, ent_org, roles=["enterprise"], username="e2e-trust-ent")
        home = Path(live_server.settings.home)
        rid = _load(s, department, home, tmp_path_factory.mktemp("trust-data"), DATA)
        w = {"department": department, "dept_org": dept_org, "merchant": merchant, "merchant_org": merchant_org,
             "registrar": operator, "rid": rid, "entry": _entry_code(s, rid), "home": home}  # fmt: skip
        reg = registered(s, w, apply(s, w, "merchant", sources=[SourceIn(entry=w["entry"], basis="open")]).id)
        return {"asset": reg.code, "merchant_org": merchant_org.id, "ent_org": ent_org.id,
                "trustee_org": trustee_org.id, "ent_name": ent_org.name}  # fmt: skip


def test_a_settlor_sets_up_a_trust_the_operator_approves_it_and_a_beneficiary_sees_it(
    as_user: Any, live_server: Any, cast: dict[str, Any], page_errors: list[str]
) -> None:
    asset = cast["asset"]

    # the merchant sets up a draft on the form
    m = as_user("e2e-trust-merchant")
    m.click("#nav-trusts")
    m.wait_for_url(re.compile(r"/trusts$"))
    m.click("#new-trust")
    m.wait_for_url(re.compile(r"/trusts/new$"))
    m.fill("#trust-code", "e2e-credit-trust")
    m.fill("#trust-title", "企业信用数据资产服务信托（浏览器测试）")
    m.select_option("#trust-trustee", str(cast["trustee_org"]))
    m.fill("#trust-fee-rate", "1.5")
    m.select_option("#ben-org-0", str(cast["merchant_org"]))
    m.fill("#ben-share-0", "1/2")
    m.select_option("#ben-org-1", str(cast["ent_org"]))
    m.fill("#ben-share-1", "1/3")  # 1/2 + 1/3 = 5/6: refused
    m.check(f"#asset-{asset}")
    m.click("#trust-save")
    m.wait_for_url(re.compile(r"/trusts/new$"))
    assert "受益人份额之和必须恰好为 1，实为 5/6" in m.locator("#trust-beneficiaries-error").inner_text()
    assert m.input_value("#trust-title") == "企业信用数据资产服务信托（浏览器测试）"  # what was typed is kept
    assert m.is_checked(f"#asset-{asset}")
    assert page_errors == ["Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"]
    page_errors.clear()  # the refused shares came back as the 422 page they should be
    m.fill("#ben-share-1", "50%")
    m.click("#trust-save")
    m.wait_for_url(re.compile(r"/trusts/\d+$"))
    trust_url = m.url
    assert "草稿" in m.locator("#trust-state").inner_text()
    assert m.locator("#edit-trust").count() == 1 and m.locator("#approve").count() == 0

    # the operator approves it from the list
    op = as_user("e2e-trust-operator")
    op.click("#nav-trusts")
    op.wait_for_url(re.compile(r"/trusts$"))
    op.click("a:has-text('企业信用数据资产服务信托（浏览器测试）')")
    op.wait_for_url(trust_url)
    op.click("#approve")
    op.wait_for_url(trust_url)
    assert "存续" in op.locator("#trust-state").inner_text()
    assert "经运营方审核设立" in op.locator("#meta-approved").inner_text()

    # the beneficiary enterprise sees it, its share as a fraction and a percentage
    ent = as_user("e2e-trust-ent")
    ent.click("#nav-trusts")
    ent.wait_for_url(re.compile(r"/trusts$"))
    row = ent.locator("#trust-table tbody tr").filter(has_text="浏览器测试")
    assert "受益人" in row.inner_text() and "存续" in row.inner_text()
    row.locator("a").click()
    ent.wait_for_url(trust_url)
    assert ent.locator(f"#share-{cast['ent_org']}").inner_text() == "1/2"
    assert ent.locator(f"#percent-{cast['ent_org']}").inner_text() == "50%"
    assert "1.50%" in ent.locator("#meta-fee").inner_text()
    assert ent.locator(f'#asset-list a[href="/registry/verify/{asset}"]').count() == 1
    assert ent.locator("#no-distributions").count() == 1 and ent.locator("#terminate").count() == 0
    ent.screenshot(path="/tmp/trust.png", full_page=True)
    assert page_errors == []
