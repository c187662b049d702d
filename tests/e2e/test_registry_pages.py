"""数据资产登记 in a real browser: a department applies through the form; the registrar accepts it and
passes it into public notice on 登记审核; an enterprise objects on the registration's page; the
registrar dismisses the objection and, once the notice is over, registers it; an anonymous visitor
verifies the code on 登记证书查验 with the fingerprint and opens the printable certificate."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pubdata.access.service import beijing_today
from pubdata.assets.registry import service as registry
from pubdata.assets.registry.models import AssetRegistration
from pubdata.authz import SYSTEM
from pubdata.catalog import service as catalog
from pubdata.standards import uscc_with_check
from tests import builders
from tests.assets.registry.test_fingerprint import KNOWN, _load

pytestmark = pytest.mark.e2e
_n = itertools.count(1)


@pytest.fixture(scope="module")
def cast(live_server: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    with live_server.session() as s:
        dept_org = builders.make_org(s, "department", name="青岛市测试数据局（登记）",
                                     uscc=uscc_with_check(f"11370200MB{next(_n) + 9000:07d}"))  # fmt: skip
        department = builders.actor_of(builders.make_user(s, dept_org, roles=["department"], username="e2e-reg-dept"))
        builders.make_user(s, builders.make_org(s, "operator"), roles=["operator"], username="e2e-reg-operator")
        builders.make_user(s, builders.make_org(s, "enterprise"), roles=["enterprise"], username="e2e-reg-enterprise")
        tmp: Path = tmp_path_factory.mktemp("registry-e2e")
        rid = _load(s, department, live_server.settings.home, tmp, "name,amount\n市南区,100.50\n崂山区,7\n,0.10\n")
        entry = catalog.get_resource(s, SYSTEM, rid).entry.code
        return {"rid": rid, "entry": entry, "org": dept_org.name}


def test_apply_review_object_register_and_verify(
    as_user: Any, page: Any, live_server: Any, cast: dict[str, Any], page_errors: list[str]
) -> None:
    # the department applies through the form
    dept = as_user("e2e-reg-dept")
    dept.click("#nav-registry")
    dept.wait_for_url(re.compile(r"/registry$"))
    dept.click("#tab-apply")
    dept.wait_for_url(re.compile(r"/registry/apply$"))
    dept.fill("#apply-resource", cast["rid"])
    dept.fill("#apply-title", "各区金额数据资源（浏览器测试）")
    dept.check("#right-holding")
    dept.fill("#source-entry-0", cast["entry"])
    dept.select_option("#source-basis-0", "own")
    dept.select_option("#apply-scenario", "society")
    dept.fill("#apply-coverage", "青岛市")
    dept.click("#apply-submit")
    dept.wait_for_url(re.compile(r"/registry/registrations/\d+$"))
    reg_id = int(dept.url.rsplit("/", 1)[1])
    assert "已申请" in dept.locator("#registration-state").inner_text()
    assert KNOWN in dept.locator("#fingerprint").inner_text()

    # the registrar accepts it and passes it into a 5-day public notice
    op = as_user("e2e-reg-operator")
    op.goto("/registry/review")
    assert "各区金额数据资源（浏览器测试）" in op.locator(f"#registration-{reg_id}").inner_text()
    op.click(f"#accept-{reg_id}")
    op.wait_for_url(re.compile(r"/registry/review(#.*)?$"))
    op.fill(f"#pass-days-{reg_id}", "5")
    op.click(f"#pass-{reg_id}")
    op.wait_for_url(re.compile(r"/registry/review(#.*)?$"))
    until = beijing_today() + timedelta(days=5)
    assert "公示中" in op.locator(f"#state-{reg_id}").inner_text()
    assert f"公示至 {until.isoformat()}" in op.locator(f"#notice-{reg_id}").inner_text()
    assert op.locator(f"#register-{reg_id}").count() == 0  # not before the notice is over

    # an enterprise objects during the notice
    ent = as_user("e2e-reg-enterprise")
    ent.goto(f"/registry/registrations/{reg_id}")
    ent.fill("#objection-text", "该数据含本企业报送的数据")
    ent.click("#objection-submit")
    ent.wait_for_url(re.compile(rf"/registry/registrations/{reg_id}\?objected=1(#.*)?$"))
    assert "您的异议已提交" in ent.locator("#objection-filed").inner_text()

    # the notice is over: the registrar dismisses the objection and registers
    with live_server.session() as s:
        s.get(AssetRegistration, reg_id).notice_until = beijing_today() - timedelta(days=1)
        [objection] = registry.get_registration(s, SYSTEM, reg_id).objections
        objection_id = objection.id
    op.goto(f"/registry/registrations/{reg_id}")
    op.fill(f"#dismiss-reason-{objection_id}", "数据为本部门依职责采集")
    op.click(f"#dismiss-{objection_id}")
    op.wait_for_url(re.compile(rf"/registry/registrations/{reg_id}(#.*)?$"))
    op.click(f"#register-{reg_id}")
    op.wait_for_url(re.compile(rf"/registry/registrations/{reg_id}(#.*)?$"))
    code = op.locator("#registration-code").inner_text()
    assert re.fullmatch(r"QD-DR-\d{4}-\d{6}", code)

    # anyone verifies it with the fingerprint and opens the certificate
    page.goto("/")
    page.click("#nav-registry")
    page.wait_for_url(re.compile(r"/registry$"))
    page.click("#tab-verify")
    page.fill("#verify-code", code.lower())
    page.fill("#verify-fingerprint", KNOWN)
    page.click("#verify-button")
    page.wait_for_url(re.compile(rf"/registry/verify/{code}\?fingerprint="))
    assert "有效" in page.locator("#verify-status").inner_text()
    assert "指纹一致" in page.locator("#fingerprint-result").inner_text()
    page.click("#certificate-page")
    page.wait_for_url(re.compile(rf"/registry/certificates/{code}$"))
    assert page.locator("#cert-fingerprint").inner_text() == KNOWN
    assert cast["org"] in page.locator("#cert-holder").inner_text()
    assert f"{live_server.url}/registry/verify/{code}" in page.locator("#verify-url").inner_text()
    pdf = page.request.get(page.locator("#pdf-download").get_attribute("href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF-")
    assert page_errors == []
