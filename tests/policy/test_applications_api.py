"""The application API (政策通): the whole path over HTTP with tokens, streamed material uploads
refused by content and size, downloads for the enterprise and its reviewer only, errors in the API's
shape, and the reviewer routing endpoints."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from pubdata.authz import SYSTEM, Actor, scopes_available_to
from pubdata.policy.service import get_pack
from pubdata.settings import Settings
from tests.builders import settings_for
from tests.policy.applicants import PACK, PDF, PNG, Cast, make_cast

LABELS = get_pack(SYSTEM, PACK).clause("key_platform").materials


@pytest.fixture(autouse=True)
def quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    from pubdata.identity import service as identity

    monkeypatch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A home of this test's own (the facts file and the materials), and a 1 MB material limit."""
    return settings_for(tmp_path, policy_material_max_mb=1)


@pytest.fixture
def cast(session: Session, settings: Settings) -> Cast:
    return make_cast(session, settings.home)


@pytest.fixture
def auth(token_for: Callable[..., str]) -> Callable[[Actor], dict[str, str]]:
    def headers(actor: Actor) -> dict[str, str]:
        scopes = [s for s in ("read", "policy") if s in scopes_available_to(actor.roles)]  # a bank has no "policy"
        return {"Authorization": f"Bearer {token_for(actor, scopes=scopes)}"}

    return headers


def _create(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post(f"/api/v1/policies/{PACK}/clauses/key_platform/applications", json=body, headers=headers)


def _upload(client: TestClient, headers: dict[str, str], app_id: int, label: str, name: str, data: bytes) -> Any:
    return client.post(
        f"/api/v1/applications/{app_id}/materials",
        data={"label": label},
        files={"file": (name, data, "application/pdf")},
        headers=headers,
    )


def _submitted(client: TestClient, headers: dict[str, str]) -> int:
    created = _create(client, headers)
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    for label in LABELS:
        assert _upload(client, headers, app_id, label, f"{label}.pdf", PDF).status_code == 201
    response = client.post(f"/api/v1/applications/{app_id}/submit", headers=headers)
    assert response.status_code == 200 and response.json()["state"] == "submitted"
    return int(app_id)


def test_from_application_to_disbursement(client: TestClient, cast: Cast, auth: Callable[..., dict]) -> None:
    ent, ls = auth(cast.enterprise), auth(cast.laoshan)
    created = _create(client, ent, claimed_facts={"cbec_import_export_amount": 55_000_000}, note="请审核")
    assert created.status_code == 201
    body = created.json()
    assert body["state"] == "draft" and body["reviewer_name"] == "测试崂山区商务局"
    assert (body["cap"], body["amount_kind"]) == (500_000, "up_to")
    assert body["missing_materials"] == list(LABELS) and body["actions"] == ["update", "material", "submit", "withdraw"]
    app_id = body["id"]
    early = client.post(f"/api/v1/applications/{app_id}/submit", headers=ent)
    assert early.status_code == 422 and early.json()["error"]["code"] == "policy.materials_missing"
    for label in LABELS:
        up = _upload(client, ent, app_id, label, "证明.png", PNG)
        assert up.status_code == 201 and up.json()["content_type"] == "image/png"  # by content, not the header
    assert client.post(f"/api/v1/applications/{app_id}/submit", headers=ent).json()["state"] == "submitted"

    queue = client.get("/api/v1/applications", headers=ls).json()
    assert [a["id"] for a in queue] == [app_id] and queue[0]["state_label"] == "待审核"
    seen = client.get(f"/api/v1/applications/{app_id}", headers=ls).json()
    assert seen["differences"] == ["cbec_import_export_amount"]
    assert seen["evaluation"]["trace"][0].startswith("依据《")
    above = client.post(f"/api/v1/applications/{app_id}/approve", json={"amount": 600_000}, headers=ls)
    assert above.status_code == 422 and above.json()["error"]["code"] == "policy.amount_above_cap"
    ok = client.post(f"/api/v1/applications/{app_id}/approve", json={"amount": 480_000, "reason": "核定"}, headers=ls)
    assert ok.status_code == 200 and ok.json()["approved_amount"] == 480_000 and ok.json()["actions"] == ["disburse"]
    paid = client.post(f"/api/v1/applications/{app_id}/disburse", json={"reference": "LS-001"}, headers=ls)
    assert paid.status_code == 200
    mine = client.get(f"/api/v1/applications/{app_id}", headers=ent).json()
    assert mine["state"] == "disbursed" and mine["disbursement"]["amount"] == 480_000
    assert [a["id"] for a in client.get("/api/v1/applications", headers=ent).json()] == [app_id]


def test_another_district_and_other_roles_get_not_found(
    client: TestClient, cast: Cast, auth: Callable[..., dict]
) -> None:
    app_id = _submitted(client, auth(cast.enterprise))
    for actor in (cast.shinan, cast.bank, cast.other_enterprise, cast.other_department):
        headers = auth(actor)
        assert client.get(f"/api/v1/applications/{app_id}", headers=headers).status_code == 404
        refused = client.post(f"/api/v1/applications/{app_id}/approve", json={"amount": 1}, headers=headers)
        assert refused.status_code in (403, 404)  # no review right at all (bank): 403; otherwise unseen: 404
        assert client.get("/api/v1/applications", headers=headers).json() == []
    for actor in (cast.operator, cast.regulator):
        headers = auth(actor)
        assert client.get(f"/api/v1/applications/{app_id}", headers=headers).status_code == 200
        assert (
            client.post(f"/api/v1/applications/{app_id}/reject", json={"reason": "x"}, headers=headers).status_code
            == 403
        )
    assert client.get(f"/api/v1/applications/{app_id}").status_code == 404
    assert _create(client, {}).status_code == 401


def test_duplicate_and_registered_elsewhere_errors(client: TestClient, cast: Cast, auth: Callable[..., dict]) -> None:
    ent = auth(cast.enterprise)
    first = _create(client, ent).json()["id"]
    again = _create(client, ent)
    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "policy.duplicate_application" and error["details"]["application_id"] == first
    elsewhere = client.post(
        f"/api/v1/policies/{PACK}/clauses/independent_site/applications",
        json={"claimed_facts": {"registered_district": "市北区"}},
        headers=ent,
    )
    assert elsewhere.status_code == 422 and elsewhere.json()["error"]["code"] == "policy.registered_elsewhere"
    unknown = _create(client, ent, year=2021, claimed_facts={"turnover": 1})
    assert unknown.status_code == 422 and "未知的事实：turnover" in unknown.json()["error"]["message"]


def test_materials_are_refused_by_content_and_size_and_nothing_is_kept(
    client: TestClient, cast: Cast, auth: Callable[..., dict], settings: Settings
) -> None:
    ent = auth(cast.enterprise)
    app_id = _create(client, ent).json()["id"]
    exe = _upload(client, ent, app_id, LABELS[0], "申报表.pdf", b"MZ\x90\x00\x03" + b"\0" * 100)
    assert exe.status_code == 422 and exe.json()["error"]["code"] == "policy.invalid_material"
    html = _upload(client, ent, app_id, LABELS[0], "a.png", b"<html><script>alert(1)</script></html>")
    assert html.status_code == 422
    big = _upload(client, ent, app_id, LABELS[0], "big.pdf", PDF + b"\0" * (1024 * 1024))
    assert big.status_code == 413 and big.json()["error"]["code"] == "policy.material_too_large"
    wrong_label = _upload(client, ent, app_id, "营业执照", "a.pdf", PDF)
    assert wrong_label.status_code == 422 and wrong_label.json()["error"]["code"] == "policy.invalid_material"
    no_label = client.post(f"/api/v1/applications/{app_id}/materials", files={"file": ("a.pdf", PDF)}, headers=ent)
    assert no_label.status_code == 422 and "label" in no_label.json()["error"]["message"]
    not_multipart = client.post(f"/api/v1/applications/{app_id}/materials", content=PDF, headers=ent)
    assert not_multipart.status_code == 422
    root = settings.home / "policy" / "materials"
    assert [p for p in root.rglob("*") if p.is_file()] == []
    assert client.get(f"/api/v1/applications/{app_id}", headers=ent).json()["materials"] == []
    # by query parameter, after the refusals
    ok = client.post(
        f"/api/v1/applications/{app_id}/materials", params={"label": LABELS[0]}, files={"file": ("a.pdf", PDF)},
        headers=ent,
    )  # fmt: skip
    assert ok.status_code == 201 and ok.json()["label"] == LABELS[0]
    # only the enterprise may upload
    other = _upload(client, auth(cast.laoshan), app_id, LABELS[0], "a.pdf", PDF)
    assert other.status_code in (403, 404)


def test_downloads_for_the_enterprise_and_its_reviewer_only(
    client: TestClient, cast: Cast, auth: Callable[..., dict]
) -> None:
    app_id = _submitted(client, auth(cast.enterprise))
    material = client.get(f"/api/v1/applications/{app_id}", headers=auth(cast.enterprise)).json()["materials"][0]
    url = f"/api/v1/applications/{app_id}/materials/{material['id']}"
    for actor in (cast.enterprise, cast.laoshan):
        response = client.get(url, headers=auth(actor))
        assert response.status_code == 200 and response.content == PDF
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert "attachment" in client.get(url + "?download=true", headers=auth(cast.laoshan)).headers["content-disposition"]
    assert client.get(url, headers=auth(cast.operator)).status_code == 403
    assert client.get(url, headers=auth(cast.shinan)).status_code == 404
    assert (
        client.get(f"/api/v1/applications/{app_id}/materials/999999", headers=auth(cast.enterprise)).status_code == 404
    )


def test_return_and_resubmit_and_withdraw(client: TestClient, cast: Cast, auth: Callable[..., dict]) -> None:
    ent, ls = auth(cast.enterprise), auth(cast.laoshan)
    app_id = _submitted(client, ent)
    no_reason = client.post(f"/api/v1/applications/{app_id}/return", json={"reason": ""}, headers=ls)
    assert no_reason.status_code == 422
    returned = client.post(f"/api/v1/applications/{app_id}/return", json={"reason": "请补充海关证明"}, headers=ls)
    assert returned.json()["state"] == "returned" and returned.json()["reason"] == "请补充海关证明"
    patched = client.patch(
        f"/api/v1/applications/{app_id}", json={"claimed_facts": {"cbec_import_export_amount": 31_000_000}}, headers=ent
    )
    assert patched.status_code == 200 and patched.json()["cap"] == 200_000
    assert client.post(f"/api/v1/applications/{app_id}/resubmit", headers=ent).json()["state"] == "submitted"
    withdrawn = client.post(f"/api/v1/applications/{app_id}/withdraw", json={"reason": "不再申报"}, headers=ent)
    assert withdrawn.json()["state"] == "withdrawn"
    late = client.post(f"/api/v1/applications/{app_id}/reject", json={"reason": "x"}, headers=ls)
    assert late.status_code == 409 and late.json()["error"]["code"] == "policy.application_wrong_state"


def test_reviewer_routing_endpoints(client: TestClient, cast: Cast, auth: Callable[..., dict]) -> None:
    listed = client.get("/api/v1/policy-reviewers").json()
    assert {(r["district"], r["organisation_name"]) for r in listed} == {
        ("崂山区", "测试崂山区商务局"), ("市南区", "测试市南区商务局")
    }  # fmt: skip
    body = {"organisation": cast.shinan_org.code}
    assert client.put("/api/v1/policy-reviewers/李沧区", json=body, headers=auth(cast.laoshan)).status_code == 403
    put = client.put("/api/v1/policy-reviewers/李沧区", json=body, headers=auth(cast.operator))
    assert put.status_code == 200 and put.json()["organisation_code"] == cast.shinan_org.code
    bad = client.put("/api/v1/policy-reviewers/上海市", json=body, headers=auth(cast.operator))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "policy.invalid_reviewer"
