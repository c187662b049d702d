"""政策通 application pages: the form prefilled from the enterprise's facts, uploads checked before and
while they are read, the reviewer's queue and page (facts side by side, differences marked), decisions
with errors shown on the form, and who sees which page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from pubdata.authz import SYSTEM, Actor
from pubdata.policy.applications import reads
from pubdata.policy.service import get_pack
from pubdata.settings import Settings
from tests.builders import settings_for
from tests.policy.applicants import PACK, PDF, PNG, Cast, make_cast
from tests.web.helpers import hidden_field, login

LABELS = get_pack(SYSTEM, PACK).clause("key_platform").materials
APPLY = f"/policies/{PACK}/apply/key_platform"


@pytest.fixture(autouse=True)
def quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    from pubdata.identity import service as identity

    monkeypatch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_for(tmp_path, policy_material_max_mb=1)


@pytest.fixture
def cast(session: Session, settings: Settings) -> Cast:
    return make_cast(session, settings.home)


def sign_in(client: TestClient, actor: Actor) -> None:
    client.cookies.clear()
    assert login(client, actor.username or "").status_code == 303


def _apply(client: TestClient, *, files: dict[str, Any] | None = None, submit: bool = True, **facts: str) -> Any:
    page = client.get(APPLY)
    assert page.status_code == 200, page.text
    data = {"csrf_token": hidden_field(page.text, "csrf_token"), "note": "请审核"}
    prefilled = {"cbec_import_export_amount": "6000", "provincial_key_platform_2022": "true"}  # as the form shows
    data.update({f"fact.{k}": v for k, v in {**prefilled, **facts}.items()})
    if submit:
        data["submit"] = "1"
    if files is None:
        files = {f"material.{i}": (f"{i}.pdf", PDF, "application/pdf") for i in range(len(LABELS))}
    elif not files:  # file inputs left empty, as a browser sends them
        files = {f"material.{i}": ("", b"", "application/octet-stream") for i in range(len(LABELS))}
    return client.post(APPLY, data=data, files=files, follow_redirects=False)


def _app_id(response: Any) -> int:
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/applications/(\d+)", response.headers["location"])
    assert match
    return int(match.group(1))


def _post(client: TestClient, app_id: int, action: str, **data: str) -> Any:
    page = client.get(f"/applications/{app_id}")
    data["csrf_token"] = hidden_field(page.text, "csrf_token")
    return client.post(f"/applications/{app_id}/{action}", data=data, follow_redirects=False)


def test_visitors_are_sent_to_sign_in(client: TestClient) -> None:
    for url in (APPLY, "/me/applications", "/review/applications", "/applications/1"):
        response = client.get(url, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/user/login?next="), url


def test_the_form_is_prefilled_from_the_enterprises_facts(client: TestClient, cast: Cast) -> None:
    sign_in(client, cast.enterprise)
    page = client.get(APPLY).text
    assert 'id="apply-reviewer">测试崂山区商务局<' in page and 'id="apply-district">崂山区<' in page
    assert re.search(r'name="fact.cbec_import_export_amount"[^>]*value="6000"', page)  # 万元
    assert re.search(r'<option value="true" selected>是</option>', page)
    for label in LABELS:
        assert label in page
    assert "符合条件" in page and "最高 50万元" in page
    assert 'href="/me/applications"' in page  # the navigation's link


def test_an_enterprise_applies_with_materials_and_follows_it(client: TestClient, cast: Cast) -> None:
    sign_in(client, cast.enterprise)
    app_id = _app_id(_apply(client, cbec_import_export_amount="4500", provincial_key_platform_2022="true"))
    page = client.get(f"/applications/{app_id}").text
    assert "待审核" in page and "测试崂山区商务局" in page
    assert page.count("material-done") == len(LABELS) and "✗ 未上传" not in page
    assert 'class="fact-differs" data-fact="cbec_import_export_amount"' in page
    mine = client.get("/me/applications").text
    assert f'data-application="{app_id}"' in mine and "上限 20万元" in mine
    # the same clause and year again: the form says where the first one is
    assert f'href="/applications/{app_id}"' in client.get(APPLY).text


def test_a_draft_then_materials_on_its_page_then_submit(client: TestClient, cast: Cast) -> None:
    sign_in(client, cast.enterprise)
    app_id = _app_id(_apply(client, files={}, submit=True, cbec_import_export_amount="6000"))
    page = client.get(f"/applications/{app_id}")
    assert "草稿（待提交）" in page.text and "还缺少" in page.text
    early = _post(client, app_id, "submit")
    assert early.status_code == 422 and "还缺少 3 项申报材料" in early.text
    for label in LABELS:
        token = hidden_field(client.get(f"/applications/{app_id}").text, "csrf_token")
        up = client.post(
            f"/applications/{app_id}/materials", data={"csrf_token": token, "label": label},
            files={"file": ("扫描件.png", PNG, "image/png")}, follow_redirects=False,
        )  # fmt: skip
        assert up.status_code == 303, up.text
    assert _post(client, app_id, "submit").status_code == 303
    assert "待审核" in client.get(f"/applications/{app_id}").text


def test_refusals_are_shown_on_the_form_and_nothing_is_made(client: TestClient, session: Session, cast: Cast) -> None:
    sign_in(client, cast.enterprise)
    files = {"material.0": ("申报表.pdf", b"MZ\x90\x00 this is not a pdf", "application/pdf")}
    refused = _apply(client, files=files, cbec_import_export_amount="4500")
    assert refused.status_code == 422 and "只接受 PDF、PNG 或 JPEG" in refused.text
    assert 'value="4500"' in refused.text  # what was typed is kept
    ineligible = _apply(client, files={}, provincial_key_platform_2022="false")
    assert ineligible.status_code == 422 and "不符合“省重点培育跨境电商平台奖励”的条件" in ineligible.text
    big = {"material.0": ("big.pdf", PDF + b"\0" * (1024 * 1024), "application/pdf")}
    assert _apply(client, files=big).status_code == 413
    no_token = client.post(
        APPLY, data={"fact.cbec_import_export_amount": "6000", "fact.provincial_key_platform_2022": "true"},
        files={"material.0": ("a.pdf", PDF, "application/pdf")}, follow_redirects=False,
    )  # fmt: skip
    assert no_token.status_code == 403
    assert reads.list_applications(session, cast.enterprise) == []


def test_the_reviewer_approves_within_the_cap_and_disburses(client: TestClient, cast: Cast) -> None:
    sign_in(client, cast.enterprise)
    app_id = _app_id(_apply(client))
    sign_in(client, cast.laoshan)
    queue = client.get("/review/applications").text
    assert re.search(rf'id="queue-pending".*?data-application="{app_id}"', queue, re.S)
    assert client.get("/applications/review-count").text.count(">1<") == 1
    page = client.get(f"/applications/{app_id}").text
    assert 'id="approve-form"' in page and 'value="50"' in page  # the cap, in 万元, as the default
    assert 'id="trace"' in page and "依据《" in page
    assert f'href="/api/v1/applications/{app_id}/materials/' in page
    above = _post(client, app_id, "approve", amount="50.0001", reason="")
    assert above.status_code == 422 and 'id="approve-error"' in above.text and "超过本申报的上限" in above.text
    assert _post(client, app_id, "approve", amount="45", reason="核定45万元").status_code == 303
    page = client.get(f"/applications/{app_id}").text
    assert "已核准" in page and 'id="disburse-form"' in page
    assert _post(client, app_id, "disburse", reference="LS-2023-001").status_code == 303
    sign_in(client, cast.enterprise)
    mine = client.get(f"/applications/{app_id}").text
    assert "已拨付" in mine and "LS-2023-001" in mine and "45万元" in mine and 'id="approve-form"' not in mine


def test_return_then_resubmit_and_reject_needs_a_reason(client: TestClient, cast: Cast) -> None:
    sign_in(client, cast.enterprise)
    app_id = _app_id(_apply(client))
    sign_in(client, cast.laoshan)
    no_reason = _post(client, app_id, "reject", reason=" ")
    assert no_reason.status_code == 422 and "驳回需说明理由" in no_reason.text
    assert _post(client, app_id, "return", reason="请补充海关证明").status_code == 303
    sign_in(client, cast.enterprise)
    page = client.get(f"/applications/{app_id}").text
    assert "退回补充材料" in page and "请补充海关证明" in page and 'id="submit-form"' in page
    corrected = {"fact.cbec_import_export_amount": "3500", "fact.provincial_key_platform_2022": "true", "note": "改"}
    update = _post(client, app_id, "update", **corrected)
    assert update.status_code == 303
    assert _post(client, app_id, "resubmit").status_code == 303
    assert "待审核" in client.get(f"/applications/{app_id}").text


def test_who_sees_which_page(client: TestClient, cast: Cast) -> None:
    sign_in(client, cast.enterprise)
    app_id = _app_id(_apply(client))
    sign_in(client, cast.shinan)
    assert client.get(f"/applications/{app_id}").status_code == 404
    assert _post_blind(client, app_id, "approve", amount="1").status_code == 404
    assert f'data-application="{app_id}"' not in client.get("/review/applications").text
    assert client.get(APPLY).status_code == 403  # departments do not apply
    sign_in(client, cast.operator)
    page = client.get(f"/applications/{app_id}")
    assert page.status_code == 200 and 'id="approve-form"' not in page.text
    assert f'href="/api/v1/applications/{app_id}/materials/' not in page.text  # oversight: no files
    assert f'data-application="{app_id}"' in client.get("/review/applications").text
    sign_in(client, cast.bank)
    assert client.get(f"/applications/{app_id}").status_code == 404
    assert client.get("/review/applications").status_code == 403


def _post_blind(client: TestClient, app_id: int, action: str, **data: str) -> Any:
    """A POST by someone who cannot see the application (the CSRF token from another page)."""
    token = hidden_field(client.get("/me/applications").text, "csrf_token")
    return client.post(f"/applications/{app_id}/{action}", data={"csrf_token": token, **data}, follow_redirects=False)
