"""数据资产登记 portal pages: a department applies through the form, the registrar takes it through
受理, 形式审核 and 公示 on its queue, an enterprise objects on the registration's page, the registrar
dismisses the objection and registers it; anyone then sees the certificate (printable, with its PDF)
and verifies the code with a fingerprint. Outsiders do not see applications that are not public;
forms need the session's CSRF token; refusals are shown on the page in Chinese with what was typed
kept; the stand-alone fingerprint script on the verification page computes the registered value."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from pubdata.access.service import beijing_today
from pubdata.assets.registry import service as registry
from pubdata.assets.registry.models import AssetRegistration
from pubdata.assets.registry.schemas import FormalReviewIn, RegistrationIn, SourceIn
from pubdata.authz import SYSTEM, Actor
from pubdata.catalog import service as catalog
from pubdata.standards import uscc_with_check
from pubdata.web.registry_pages import fingerprint_script
from tests.assets.registry.test_fingerprint import KNOWN, _load
from tests.builders import make_org
from tests.web.helpers import hidden_field, login

DATA = "name,amount\n市南区,100.50\n崂山区,7\n,0.10\n"
_n = itertools.count(1)


@pytest.fixture(autouse=True)
def quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    from pubdata.identity import service as identity

    monkeypatch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def world(session: Session, as_actor: Any, settings: Any, tmp_path: Path) -> dict[str, Any]:
    dept_org = make_org(session, "department", uscc=uscc_with_check(f"11370200MB{next(_n) + 5000:07d}"))
    department = as_actor("department", dept_org)
    rid = _load(session, department, settings.home, tmp_path, DATA)
    return {
        "department": department, "dept_org": dept_org, "operator": as_actor("operator"),
        "enterprise": as_actor("enterprise"), "rival": as_actor("data_merchant"), "bank": as_actor("bank"),
        "rid": rid, "entry": catalog.get_resource(session, SYSTEM, rid).entry.code, "home": settings.home,
    }  # fmt: skip


def sign_in(client: TestClient, actor: Actor) -> None:
    client.cookies.clear()
    assert login(client, actor.username or "").status_code == 303


def post_form(client: TestClient, page_url: str, action: str, data: dict[str, Any]) -> Any:
    page = client.get(page_url)
    assert page.status_code == 200, page.text
    return client.post(action, data={**data, "csrf_token": hidden_field(page.text, "csrf_token")},
                       follow_redirects=False)  # fmt: skip


def form_data(w: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    data = {
        "kind": "initial", "subject": "resource", "resource_id": w["rid"], "title": "各区金额数据资源",
        "description": "各区金额汇总", "holder_name": w["dept_org"].name, "holder_uscc": w["dept_org"].uscc,
        "rights": ["holding", "processing"], "source_entry_0": w["entry"], "source_basis_0": "own",
        "coverage": "青岛市", "update_frequency": "每月", "scenario": "society", "classification": "general",
    }  # fmt: skip
    return data | overrides


def applied(session: Session, w: dict[str, Any], **overrides: Any) -> int:
    data = {
        "title": "各区金额数据资源", "holder_name": w["dept_org"].name, "holder_uscc": w["dept_org"].uscc,
        "rights": ["holding"], "sources": [SourceIn(entry=w["entry"], basis="own")], "resource_id": w["rid"],
        "coverage": "青岛市", "scenario": "society", "classification": "general",
    }  # fmt: skip
    return registry.apply(session, w["department"], RegistrationIn(**(data | overrides)), home=w["home"]).id


def noticed(session: Session, w: dict[str, Any], reg_id: int) -> None:
    registry.accept(session, w["operator"], reg_id)
    registry.formal_review(session, w["operator"], reg_id, FormalReviewIn(action="pass"))


def end_notice(session: Session, reg_id: int) -> None:
    session.get(AssetRegistration, reg_id).notice_until = beijing_today() - timedelta(days=1)
    session.flush()


def state_of(session: Session, reg_id: int) -> str:
    session.expire_all()
    return session.get(AssetRegistration, reg_id).state


def test_a_department_applies_and_the_registrar_registers_through_the_pages(
    client: TestClient, session: Session, world: dict[str, Any]
) -> None:
    w = world
    sign_in(client, w["department"])
    nav = client.get("/registry")
    assert nav.status_code == 200 and 'id="nav-registry"' in nav.text and "申请登记" in nav.text
    form = client.get("/registry/apply")
    assert form.status_code == 200 and "申请数据资产登记" in form.text
    assert f'value="{w["dept_org"].uscc}"' in form.text  # the holder's USCC is filled in

    # 核心 data: refused on the page, what was typed kept, nothing written
    r = post_form(client, "/registry/apply", "/registry/apply", form_data(w, classification="core"))
    assert r.status_code == 422 and "核心数据不予登记" in r.text
    assert 'value="各区金额数据资源"' in r.text and 'id="right-processing" checked' in r.text
    # a missing scenario is named in Chinese
    r = post_form(client, "/registry/apply", "/registry/apply", form_data(w, scenario=""))
    assert r.status_code == 422 and "应用场景：请选择" in r.text
    # without the CSRF token nothing happens
    no_csrf = client.post("/registry/apply", data=form_data(w), follow_redirects=False)
    assert no_csrf.status_code == 403
    assert registry.list_registrations(session, w["operator"]) == []

    r = post_form(client, "/registry/apply", "/registry/apply", form_data(w, fingerprint=KNOWN))
    assert r.status_code == 303, r.text
    reg_id = int(r.headers["location"].rsplit("/", 1)[1])
    page = client.get(r.headers["location"]).text
    assert "已申请" in page and "等待登记机构受理" in page and KNOWN in page and "自有数据（本机构发布）" in page

    # an outsider does not see it, anonymous neither
    sign_in(client, w["rival"])
    assert client.get(f"/registry/registrations/{reg_id}").status_code == 404
    assert "各区金额数据资源" not in client.get("/registry").text
    client.cookies.clear()
    assert client.get(f"/registry/registrations/{reg_id}").status_code == 404

    # the registrar: 受理, then 形式审核 (a bad notice length is refused on the page, typed kept)
    sign_in(client, w["operator"])
    queue = client.get("/registry/review")
    assert queue.status_code == 200 and f'id="registration-{reg_id}"' in queue.text and "待受理（1）" in queue.text
    assert post_form(client, "/registry/review", f"/registry/review/{reg_id}/accept", {}).status_code == 303
    assert state_of(session, reg_id) == "accepted"
    bad = post_form(client, "/registry/review", f"/registry/review/{reg_id}/pass", {"notice_days": "120"})
    assert bad.status_code == 422 and "公示天数须为 1 至 90" in bad.text and 'value="120"' in bad.text
    r = post_form(client, "/registry/review", f"/registry/review/{reg_id}/pass", {"notice_days": "7"})
    assert r.status_code == 303 and state_of(session, reg_id) == "public_notice"

    # in notice: public; an enterprise objects on the registration's page
    client.cookies.clear()
    public = client.get(f"/registry/registrations/{reg_id}").text
    assert "公示中" in public and "登录</a>后可在公示期内提出异议" in public
    sign_in(client, w["enterprise"])
    url = f"/registry/registrations/{reg_id}"
    empty = post_form(client, url, f"{url}/objections", {"text": "  "})
    assert empty.status_code == 422 and "异议须写明事实和理由" in empty.text
    r = post_form(client, url, f"{url}/objections", {"text": "该数据含本企业报送的数据，权属有争议"})
    assert r.status_code == 303
    assert "您的异议已提交" in client.get(r.headers["location"]).text

    # the registrar: not before the notice is over; resolves the objection, then registers
    sign_in(client, w["operator"])
    queue = client.get("/registry/review").text
    assert "该数据含本企业报送的数据" in queue and f'id="register-{reg_id}"' not in queue
    end_notice(session, reg_id)
    queue = client.get("/registry/review").text
    assert "尚有 1 项异议未处理" in queue
    [objection] = registry.get_registration(session, w["operator"], reg_id).objections
    no_reason = post_form(client, "/registry/review", f"/registry/objections/{objection.id}/dismiss", {"reason": ""})
    assert no_reason.status_code == 422 and "处理异议须说明理由" in no_reason.text
    r = post_form(client, url, f"/registry/objections/{objection.id}/dismiss",
                  {"reason": "数据为本部门依职责采集", "back": "registration"})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"].startswith(url)
    r = post_form(client, url, f"{url}/register", {})
    assert r.status_code == 303 and state_of(session, reg_id) == "registered"
    code = session.get(AssetRegistration, reg_id).code
    page = client.get(url).text
    assert code in page and "异议不成立" in page and "数据为本部门依职责采集" in page

    # anyone: the printable certificate and the verification
    client.cookies.clear()
    cert = client.get(f"/registry/certificates/{code}")
    assert cert.status_code == 200 and "数据资产登记证书" in cert.text and KNOWN in cert.text
    assert w["dept_org"].uscc in cert.text and "数据资源持有权、数据加工使用权" in cert.text
    assert f"/api/v1/registry/certificates/{code}.pdf" in cert.text and "@media print" in cert.text
    assert f"/registry/verify/{code}" in cert.text and "有效" in cert.text
    r = client.get("/registry/verify", params={"code": code.lower(), "fingerprint": KNOWN}, follow_redirects=True)
    assert r.status_code == 200 and "指纹一致" in r.text and "有效" in r.text
    r = client.get(f"/registry/verify/{code}", params={"fingerprint": "0" * 64})
    assert "指纹不一致" in r.text
    r = client.get(f"/registry/verify/{code}")
    assert "指纹一致" not in r.text and "指纹不一致" not in r.text and "fingerprint.py" in r.text
    missing = client.get("/registry/verify/QD-DR-1999-000009")
    assert missing.status_code == 404 and "未找到登记编号" in missing.text
    assert client.get("/registry/verify", params={"code": "abc"}).status_code == 400


def test_outsiders_see_public_registrations_only(
    client: TestClient, session: Session, world: dict[str, Any], tmp_path: Path
) -> None:
    w = world
    waiting = applied(session, w, title="受理中的登记")
    other_table = _load(session, w["department"], w["home"], tmp_path, DATA)
    other_entry = catalog.get_resource(session, SYSTEM, other_table).entry.code
    public = applied(session, w, title="公示中的登记", resource_id=other_table,
                     sources=[SourceIn(entry=other_entry, basis="own")])  # fmt: skip
    noticed(session, w, public)
    for who in (None, w["rival"], w["bank"]):
        if who is None:
            client.cookies.clear()
        else:
            sign_in(client, who)
        listing = client.get("/registry").text
        assert "公示中的登记" in listing and "受理中的登记" not in listing
        assert client.get(f"/registry/registrations/{waiting}").status_code == 404
        page = client.get(f"/registry/registrations/{public}").text
        assert "公示中的登记" in page and 'id="history"' not in page  # no history for outsiders
    # the department (the holder) sees its own in any state, with the history
    sign_in(client, w["department"])
    mine = client.get("/registry?mine=1").text
    assert "受理中的登记" in mine and "公示中的登记" in mine
    assert 'id="history"' in client.get(f"/registry/registrations/{waiting}").text


def test_each_role_gets_its_pages_and_is_refused_the_others(
    client: TestClient, session: Session, world: dict[str, Any]
) -> None:
    w = world
    client.cookies.clear()
    for path in ("/registry/apply", "/registry/review"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/user/login")
    anon = client.get("/registry").text
    assert "登记证书查验" in anon and 'id="tab-apply"' not in anon and 'id="tab-review"' not in anon
    assert "登记证书查验" in client.get("/registry/verify").text

    sign_in(client, w["bank"])  # neither applies nor reviews
    assert client.get("/registry/apply").status_code == 403
    assert "申请登记仅供" in client.get("/registry/apply").text
    assert client.get("/registry/review").status_code == 403
    sign_in(client, w["enterprise"])  # applies, does not review
    assert client.get("/registry/apply").status_code == 200
    refused = client.get("/registry/review")
    assert refused.status_code == 403 and "登记审核仅供登记机构" in refused.text
    reg_id = applied(session, w)
    r = post_form(client, "/registry", f"/registry/review/{reg_id}/accept", {})
    assert r.status_code == 403 and state_of(session, reg_id) == "submitted"
    sign_in(client, w["operator"])
    page = client.get("/registry/review").text
    assert 'id="tab-review"' not in page and "<strong>登记审核</strong>" in page
    assert client.get("/registry/apply").status_code == 200
    # a step out of order: the service's refusal is shown on the queue
    r = post_form(client, "/registry/review", f"/registry/review/{reg_id}/register", {})
    assert r.status_code == 409 and "不能登记赋码" in r.text


def test_the_returned_applicant_resubmits_on_the_page(client: TestClient, session: Session, world: dict[str, Any]):
    w = world
    reg_id = applied(session, w)
    registry.accept(session, w["operator"], reg_id)
    registry.formal_review(session, w["operator"], reg_id, FormalReviewIn(action="return", reason="补充覆盖的区"))
    sign_in(client, w["department"])
    url = f"/registry/registrations/{reg_id}"
    page = client.get(url).text
    assert "退回补正" in page and "补充覆盖的区" in page and 'id="resubmit-form"' in page
    r = post_form(client, url, f"{url}/resubmit", {"coverage": "青岛市市南区、崂山区", "reason": "已补充"})
    assert r.status_code == 303
    assert state_of(session, reg_id) == "accepted"
    assert session.get(AssetRegistration, reg_id).coverage == "青岛市市南区、崂山区"
    again = post_form(client, url, f"{url}/resubmit", {"coverage": "x"})
    assert again.status_code == 409 and "只有退回补正的申请可以重新提交" in again.text


def test_the_holder_applies_for_a_cancellation_on_the_page(
    client: TestClient, session: Session, world: dict[str, Any]
) -> None:
    w = world
    reg_id = applied(session, w)
    noticed(session, w, reg_id)
    end_notice(session, reg_id)
    registry.register(session, w["operator"], reg_id)
    sign_in(client, w["department"])
    url = f"/registry/registrations/{reg_id}"
    assert 'id="amend-form"' in client.get(url).text
    bad = post_form(client, url, f"{url}/chain", {"kind": "transfer", "reason": "转让"})
    assert bad.status_code == 422 and "须填写受让方或被许可方的机构代码" in bad.text
    r = post_form(client, url, f"{url}/chain", {"kind": "cancellation", "reason": "停止经营该数据"})
    assert r.status_code == 303
    new = int(re.search(r"/registry/registrations/(\d+)", r.headers["location"]).group(1))
    assert new != reg_id and session.get(AssetRegistration, new).kind == "cancellation"
    sign_in(client, w["rival"])
    assert 'id="amend-form"' not in client.get(url).text


def test_the_fingerprint_script_on_the_verification_page_computes_the_registered_value(tmp_path: Path) -> None:
    script = tmp_path / "fingerprint.py"
    script.write_text(
        fingerprint_script(["name", "amount"]).replace("KINDS = {}", 'KINDS = {"amount": "number"}'), encoding="utf-8"
    )
    data = tmp_path / "数据.csv"
    data.write_text("amount,name\n0.1,\n7.00,崂山区\n100.5,市南区\n", encoding="utf-8")  # any column and row order
    out = subprocess.run([sys.executable, str(script), str(data)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == KNOWN
    data.write_text(DATA.replace("100.50", "100.51"), encoding="utf-8")
    out = subprocess.run([sys.executable, str(script), str(data)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() != KNOWN
