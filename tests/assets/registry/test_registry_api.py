"""The data-asset registry over the REST API (/api/v1/registry): a data merchant applies to register
open data it builds on, the registrar accepts it, returns it for correction, passes it into public
notice; an enterprise objects, the registrar dismisses the objection and registers it once the notice
is over; anyone then verifies the code (with and without their own fingerprint) and downloads the
certificate as a PDF that carries the code and the fingerprint. A cancellation goes the same way and
the certificate's status follows. Refusals: anonymous writes 401, a token without the scope
``assets`` 403, another organisation's application 404, 核心 data and a wrong fingerprint 422."""

from __future__ import annotations

import io
import itertools
from datetime import timedelta
from typing import Any, get_args

import pytest
from pypdf import PdfReader

from pubdata.access.service import beijing_today
from pubdata.api.v1.registry import RegistrationState
from pubdata.assets.registry.models import AssetRegistration
from pubdata.assets.registry.schemas import STATES
from pubdata.authz import SYSTEM
from pubdata.catalog import service as catalog
from pubdata.standards import uscc_with_check
from tests.assets.registry.test_fingerprint import KNOWN, _load
from tests.builders import make_org

API = "/api/v1/registry"
DATA = "name,amount\n市南区,100.50\n崂山区,7\n,0.10\n"
_n = itertools.count(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def reg(session, as_actor, token_for, settings, tmp_path) -> dict[str, Any]:
    """A department's open table; a data merchant (the applicant), a rival merchant, an enterprise
    (objects) and the operator (the registrar), each with a token holding ``read`` and ``assets``."""
    department = as_actor("department")
    rid = _load(session, department, settings.home, tmp_path, DATA)
    merchant_org = make_org(session, "data_merchant", uscc=uscc_with_check(f"91370200MA{next(_n) + 7000:07d}"))
    merchant = as_actor("data_merchant", merchant_org)
    rival, enterprise, operator = as_actor("data_merchant"), as_actor("enterprise"), as_actor("operator")
    return {
        "rid": rid, "entry": catalog.get_resource(session, SYSTEM, rid).entry.code, "org": merchant_org,
        "merchant": bearer(token_for(merchant, ["read", "assets"])),
        "merchant_read_only": bearer(token_for(merchant, ["read"])),
        "rival": bearer(token_for(rival, ["read", "assets"])),
        "enterprise": bearer(token_for(enterprise, ["read", "assets"])),
        "operator": bearer(token_for(operator, ["read", "assets"])),
        "operator_read_only": bearer(token_for(operator, ["read"])),
    }  # fmt: skip


def body(r: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    data = {
        "title": "各区金额加工数据", "description": "基于开放数据加工", "holder_name": r["org"].name,
        "holder_uscc": r["org"].uscc, "rights": ["processing"], "sources": [{"entry": r["entry"], "basis": "open"}],
        "resource_id": r["rid"], "update_frequency": "每月", "coverage": "青岛市", "scenario": "society",
        "classification": "general",
    }  # fmt: skip
    return data | overrides


def error(r) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    return r.status_code, r.json()["error"]["code"]


def end_notice(session, registration_id: int) -> None:
    session.get(AssetRegistration, registration_id).notice_until = beijing_today() - timedelta(days=1)
    session.flush()


def registered(client, session, r, **overrides: Any) -> dict[str, Any]:
    made = client.post(f"{API}/registrations", json=body(r, **overrides), headers=r["merchant"])
    assert made.status_code == 201, made.text
    rid = made.json()["id"]
    assert client.post(f"{API}/registrations/{rid}/accept", json={}, headers=r["operator"]).status_code == 200
    review = client.post(f"{API}/registrations/{rid}/formal-review", json={"action": "pass"}, headers=r["operator"])
    assert review.status_code == 200, review.text
    end_notice(session, rid)
    done = client.post(f"{API}/registrations/{rid}/register", headers=r["operator"])
    assert done.status_code == 200, done.text
    return done.json()


def test_the_states_are_the_services(client):
    assert set(get_args(RegistrationState)) == set(STATES)


def test_an_application_is_reviewed_noticed_objected_to_and_registered_over_http(client, session, reg):
    r = reg
    made = client.post(f"{API}/registrations", json=body(r, fingerprint=KNOWN.upper()), headers=r["merchant"])
    assert made.status_code == 201, made.text
    app = made.json()
    assert (app["state"], app["state_label"], app["fingerprint"], app["rows"]) == ("submitted", "已申请", KNOWN, 3)
    rid = app["id"]
    # submitted: the applicant's own; nobody else finds it
    assert error(client.get(f"{API}/registrations/{rid}")) == (404, "registry.not_found")
    assert error(client.get(f"{API}/registrations/{rid}", headers=r["rival"])) == (404, "registry.not_found")
    assert client.get(f"{API}/registrations").json() == []
    mine = client.get(f"{API}/registrations", params={"mine": "true"}, headers=r["merchant"]).json()
    assert [(x["id"], x["state"]) for x in mine] == [(rid, "submitted")]
    queue = client.get(f"{API}/registrations", params={"state": "submitted"}, headers=r["operator"]).json()
    assert rid in [x["id"] for x in queue]

    # the registrar accepts and returns it for correction; the applicant resubmits it corrected
    accepted = client.post(f"{API}/registrations/{rid}/accept", json={}, headers=r["operator"])
    assert accepted.json()["state"] == "accepted"
    back = client.post(f"{API}/registrations/{rid}/formal-review", json={"action": "return"}, headers=r["operator"])
    assert error(back) == (422, "registry.invalid")  # returning needs its reasons
    back = client.post(
        f"{API}/registrations/{rid}/formal-review", json={"action": "return", "reason": "请写明覆盖的区（市）"},
        headers=r["operator"],
    )  # fmt: skip
    assert back.json()["state"] == "returned"
    fixed = client.post(
        f"{API}/registrations/{rid}/resubmit", json=body(r, coverage="青岛市市南区、崂山区"), headers=r["merchant"]
    )
    assert fixed.status_code == 200, fixed.text
    assert (fixed.json()["state"], fixed.json()["coverage"]) == ("accepted", "青岛市市南区、崂山区")
    noticed = client.post(
        f"{API}/registrations/{rid}/formal-review", json={"action": "pass", "notice_days": 5}, headers=r["operator"]
    ).json()
    assert noticed["state"] == "public_notice"
    assert noticed["notice_until"] == (beijing_today() + timedelta(days=5)).isoformat()

    # in notice: public, without its history; an enterprise objects
    public = client.get(f"{API}/registrations/{rid}").json()
    assert (public["state"], public["events"], public["objections"]) == ("public_notice", [], [])
    assert [x["id"] for x in client.get(f"{API}/registrations").json()] == [rid]
    objection = client.post(f"{API}/registrations/{rid}/objections", json={"text": "该数据含本企业提供的数据"},
                            headers=r["enterprise"])  # fmt: skip
    assert objection.status_code == 201 and objection.json()["state_label"] == "待处理"
    early = client.post(f"{API}/registrations/{rid}/register", headers=r["operator"])
    assert error(early) == (409, "registry.notice_not_over") and "公示期至" in early.json()["error"]["message"]
    end_notice(session, rid)
    assert error(client.post(f"{API}/registrations/{rid}/register", headers=r["operator"])) == (
        409, "registry.objections_pending"
    )  # fmt: skip
    resolved = client.post(
        f"{API}/objections/{objection.json()['id']}/resolve",
        json={"action": "dismiss", "reason": "所用数据为无条件开放数据"}, headers=r["operator"],
    )  # fmt: skip
    assert resolved.status_code == 200 and resolved.json()["state"] == "dismissed"
    done = client.post(f"{API}/registrations/{rid}/register", headers=r["operator"]).json()
    code = done["code"]
    assert done["state"] == "registered" and code.startswith(f"QD-DR-{beijing_today().year}-")
    history = client.get(f"{API}/registrations/{rid}", headers=r["merchant"]).json()
    assert [e["action"] for e in history["events"]] == [
        "apply", "accept", "return", "resubmit", "formal_review", "register"
    ]  # fmt: skip
    assert [o["state"] for o in history["objections"]] == ["dismissed"]

    # anyone verifies, anonymous included, in any letter case, with or without their own fingerprint
    v = client.get(f"{API}/verify/{code.lower()}")
    assert v.status_code == 200
    v = v.json()
    assert (v["code"], v["status"], v["status_label"], v["fingerprint_matches"]) == (code, "valid", "有效", None)
    cert = v["certificate"]
    assert (cert["fingerprint"], cert["fingerprint_algorithm"], cert["canonical_form"]) == (
        KNOWN, "SHA-256", "pubdata-canonical-v1"
    )  # fmt: skip
    assert (cert["holder_name"], cert["holder_uscc"], cert["rights_labels"]) == (
        r["org"].name, r["org"].uscc, ["数据加工使用权"]
    )  # fmt: skip
    assert cert["verification_path"] == f"/registry/verify/{code}" and cert["objections_filed"] == 1
    assert client.get(f"{API}/verify/{code}", params={"fingerprint": KNOWN.upper()}).json()["fingerprint_matches"]
    other = "0" * 64
    assert client.get(f"{API}/verify/{code}", params={"fingerprint": other}).json()["fingerprint_matches"] is False
    assert error(client.get(f"{API}/verify/QD-DR-1999-000001")) == (404, "registry.not_found")
    assert error(client.get(f"{API}/verify/nonsense")) == (404, "registry.not_found")

    # the certificate as a PDF: it parses and carries the code, the fingerprint and the verification URL
    pdf = client.get(f"{API}/certificates/{code}.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and f'filename="{code}.pdf"' in pdf.headers["content-disposition"]
    reader = PdfReader(io.BytesIO(pdf.content))
    text = "".join(page.extract_text() for page in reader.pages)
    assert code in text and KNOWN in text and f"/registry/verify/{code}" in text
    assert r["org"].uscc in text and r["org"].name in text  # Chinese text is real text in the PDF
    assert "数据资产登记证书" in text and "数据加工使用权" in text and "有效" in text
    assert b"STSong-Light" in pdf.content  # Chinese set in the built-in CID font, nothing installed
    assert error(client.get(f"{API}/certificates/QD-DR-1999-000001.pdf")) == (404, "registry.not_found")


def test_a_cancellation_goes_through_review_and_the_certificate_says_so(client, session, reg):
    r = reg
    first = registered(client, session, r)
    chain = client.post(f"{API}/chain-applications", json={"kind": "cancellation", "previous_id": first["id"],
                        "reason": "数据不再对外经营"}, headers=r["merchant"])  # fmt: skip
    assert chain.status_code == 201, chain.text
    assert (chain.json()["kind"], chain.json()["previous_id"], chain.json()["root_id"]) == (
        "cancellation", first["id"], first["id"]
    )  # fmt: skip
    rival = client.post(f"{API}/chain-applications", json={"kind": "cancellation", "previous_id": first["id"],
                        "reason": "x"}, headers=r["rival"])  # fmt: skip
    assert error(rival) == (403, "registry.not_holder")
    cid = chain.json()["id"]
    client.post(f"{API}/registrations/{cid}/accept", json={}, headers=r["operator"])
    client.post(f"{API}/registrations/{cid}/formal-review", json={"action": "pass"}, headers=r["operator"])
    end_notice(session, cid)
    assert client.post(f"{API}/registrations/{cid}/register", headers=r["operator"]).status_code == 200
    v = client.get(f"{API}/verify/{first['code']}").json()
    assert (v["status"], v["status_label"]) == ("cancelled", "已注销")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(
        client.get(f"{API}/certificates/{first['code']}.pdf").content)).pages)  # fmt: skip
    assert first["code"] in text


def test_refusals(client, session, reg):
    r = reg
    # anonymous writes need a login; the verification stays open
    assert error(client.post(f"{API}/registrations", json=body(r))) == (401, "auth.login_required")
    # 核心 data, a fingerprint that is not the data's: refused, nothing written
    assert error(client.post(f"{API}/registrations", json=body(r, classification="core"), headers=r["rival"])) == (
        422, "registry.core_data"
    )  # fmt: skip
    wrong = client.post(f"{API}/registrations", json=body(r, fingerprint="ab" * 32), headers=r["rival"])
    assert error(wrong) == (422, "registry.fingerprint_mismatch") and KNOWN in wrong.json()["error"]["message"]
    made = client.post(f"{API}/registrations", json=body(r), headers=r["merchant"])
    rid = made.json()["id"]
    # a second initial registration of the same table, bad input
    assert error(client.post(f"{API}/registrations/{rid}/objections", json={"text": "x"})) == (
        401, "auth.login_required"
    )  # fmt: skip
    # a token without the scope assets: refused, whoever holds it
    for who, path, payload in (
        ("merchant_read_only", "/registrations", body(r, resource_id=None)),
        ("operator_read_only", f"/registrations/{rid}/accept", {}),
        ("operator_read_only", f"/registrations/{rid}/objections", {"text": "x"}),
    ):
        refused = client.post(f"{API}{path}", json=payload, headers=r[who])
        assert error(refused) == (403, "auth.permission_denied"), (path, refused.text)
        assert "assets" in refused.json()["error"]["message"]
    # another organisation's application: not found, not even to accept for the rival
    assert error(client.get(f"{API}/registrations/{rid}", headers=r["rival"])) == (404, "registry.not_found")
    assert error(client.post(f"{API}/registrations/{rid}/resubmit", headers=r["rival"])) == (
        404, "registry.not_found"
    )  # fmt: skip
    assert error(client.post(f"{API}/registrations/{rid}/accept", json={}, headers=r["rival"])) == (
        403, "auth.permission_denied"
    )  # fmt: skip
    assert error(client.post(f"{API}/registrations", json=body(r), headers=r["rival"])) == (
        409, "registry.already_registered"
    )  # fmt: skip
    bad = client.post(f"{API}/registrations", json=body(r, holder_uscc="123"), headers=r["rival"])
    assert bad.status_code == 422
    # steps out of order
    assert error(client.post(f"{API}/registrations/{rid}/register", headers=r["operator"])) == (
        409, "registry.wrong_state"
    )  # fmt: skip
    assert error(client.post(f"{API}/objections/999999/resolve", json={"action": "dismiss", "reason": "x"},
                             headers=r["operator"])) == (404, "registry.objection_not_found")  # fmt: skip
    assert session.get(AssetRegistration, rid).state == "submitted"
