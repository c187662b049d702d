"""数据信托 portal pages: shares shown as fractions and percentages and money in 元 exactly from fen;
the settlor sets up a draft on the form (shares not summing to one refused on the page, what was typed
kept), edits it; the trust page shows its parties, entrusted assets linking to their certificates and
each distribution; the operator approves and terminates it (refusals shown on the page); the trust
is seen by its parties only, and the list, the form and the steps need a sign-in and a CSRF token."""

from __future__ import annotations

import re
from datetime import timedelta
from fractions import Fraction
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pubdata.access.service import beijing_today
from pubdata.assets.trusts import service as trusts
from pubdata.assets.trusts.models import AssetTrust, AssetTrustBeneficiary
from pubdata.authz import Actor
from pubdata.web.trust_pages import parse_share, share_percent
from tests.assets.registry.test_registry import world  # noqa: F401
from tests.assets.trusts.builders import fund_and_distribute, parties, trust_in
from tests.web.helpers import hidden_field, login


@pytest.fixture(autouse=True)
def quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    from pubdata.identity import service as identity

    monkeypatch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def tw(session: Session, as_actor: Any, world: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    return parties(session, as_actor, world)


def sign_in(client: TestClient, actor: Actor) -> None:
    client.cookies.clear()
    assert login(client, actor.username or "").status_code == 303


def post_form(client: TestClient, page_url: str, action: str, data: dict[str, Any]) -> Any:
    page = client.get(page_url)
    assert page.status_code == 200, page.text
    return client.post(action, data={**data, "csrf_token": hidden_field(page.text, "csrf_token")},
                       follow_redirects=False)  # fmt: skip


def form_data(w: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """The form as a settlor fills it in: three beneficiaries in rows 1, 3 and 4 (row 2 left empty)."""
    today = beijing_today()
    data = {
        "code": "qd-credit-trust", "title": "企业信用数据资产服务信托", "description": "经由门户设立",
        "trustee_org_id": str(w["trustee_org"].id), "purpose": "asset_service", "fee_kind": "rate",
        "fee_rate": "1.5", "fee_fixed": "", "term_start": (today - timedelta(days=10)).isoformat(),
        "term_end": (today + timedelta(days=700)).isoformat(),
        "ben_org_0": str(w["settlor_org"].id), "ben_share_0": "1/2", "ben_org_1": "", "ben_share_1": "",
        "ben_org_2": str(w["ent_org"].id), "ben_share_2": "1/3", "ben_org_3": str(w["dept_org"].id),
        "ben_share_3": "1/6", "ben_org_4": "", "ben_share_4": "", "remainder": "0", "assets": [w["asset"]],
        "assets_extra": "",
    }  # fmt: skip
    data.update(overrides)
    return data


def trust_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AssetTrust))


def stored(session: Session, trust_id: int) -> AssetTrust:
    session.expire_all()
    return session.get(AssetTrust, trust_id)


def test_shares_are_shown_as_exact_percentages_and_typed_shares_are_exact_fractions() -> None:
    assert [share_percent(n, d) for n, d in ((1, 2), (1, 8), (1, 3), (2, 3), (1, 1), (1, 6), (7, 400))] == [
        "50%", "12.5%", "≈33.33%", "≈66.67%", "100%", "≈16.67%", "1.75%",
    ]  # fmt: skip
    assert [parse_share(t) for t in ("1/3", "2/6", "0.25", "25%", "1", "12.5%", " 1 / 2 ")] == [
        Fraction(1, 3), Fraction(1, 3), Fraction(1, 4), Fraction(1, 4), Fraction(1), Fraction(1, 8), Fraction(1, 2),
    ]  # fmt: skip
    for bad in ("", "abc", "1/0", "-1/3", "1e5", "1/3%", "0.3.3", "１/３", "1" * 19):
        assert parse_share(bad) is None, bad


def test_the_trust_pages_need_a_sign_in_and_the_nav_links_them(
    client: TestClient, session: Session, tw: dict[str, Any]
) -> None:
    w = tw
    trust = trusts.create_trust(session, w["settlor"], trust_in(w))
    for url in ("/trusts", "/trusts/new", f"/trusts/{trust.id}", f"/trusts/{trust.id}/edit"):
        r = client.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/user/login?next={url}", url
    r = client.post(f"/trusts/{trust.id}/approve", data={}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/user/login")
    assert 'id="nav-trusts"' not in client.get("/").text
    sign_in(client, w["trustee"])
    assert 'id="nav-trusts"' in client.get("/").text


def test_the_settlor_sets_up_a_draft_and_shares_not_summing_to_one_are_refused_on_the_page(
    client: TestClient, session: Session, tw: dict[str, Any]
) -> None:
    w = tw
    sign_in(client, w["settlor"])
    listing = client.get("/trusts").text
    assert 'id="new-trust"' in listing and "本机构尚未参与任何数据信托" in listing
    form = client.get("/trusts/new").text
    assert f'value="{w["asset"]}" id="asset-{w["asset"]}"' in form  # its registered asset, offered
    assert f'<option value="{w["trustee_org"].id}">{w["trustee_org"].name}（信托公司）</option>' in form
    assert w["settlor_org"].name in form and 'name="settlor_org_id"' not in form  # the settlor is itself

    assert client.post("/trusts/new", data=form_data(w)).status_code == 403  # no CSRF token
    bad = post_form(client, "/trusts/new", "/trusts/new", form_data(w, ben_share_3="1/3"))
    assert bad.status_code == 422
    assert re.search(r'id="trust-beneficiaries-error"[^>]*>[^<]*受益人份额之和必须恰好为 1，实为 7/6', bad.text)
    # what was typed is kept, the empty row dropped: the department is now the third row
    assert 'name="title" type="text" required maxlength="200" value="企业信用数据资产服务信托"' in bad.text
    assert 'id="ben-share-2" name="ben_share_2" type="text" value="1/3"' in bad.text
    assert re.search(rf'id="ben-org-2".*?<option value="{w["dept_org"].id}" selected>', bad.text, re.S)
    unreadable = post_form(client, "/trusts/new", "/trusts/new", form_data(w, ben_share_2="三分之一", fee_rate="1.555"))
    assert unreadable.status_code == 422
    assert "第 2 位受益人的份额“三分之一”无法识别" in unreadable.text and "最多两位小数" in unreadable.text
    not_mine = post_form(
        client, "/trusts/new", "/trusts/new", form_data(w, assets=[], assets_extra="QD-DR-2020-000009")
    )
    assert not_mine.status_code == 422 and "未登记" in not_mine.text
    assert trust_count(session) == 0

    done = post_form(client, "/trusts/new", "/trusts/new", form_data(w))
    assert done.status_code == 303, done.text
    trust_id = int(done.headers["location"].rsplit("/", 1)[1])
    trust = stored(session, trust_id)
    assert (trust.state, trust.fee_rate_bp, trust.fee_fixed_fen, trust.settlor_org_id) == (
        "draft", 150, None, w["settlor_org"].id
    )  # fmt: skip
    shares = session.scalars(
        select(AssetTrustBeneficiary).where(AssetTrustBeneficiary.trust_id == trust_id)
        .order_by(AssetTrustBeneficiary.position)
    )  # fmt: skip
    assert [(b.organisation_id, b.numerator, b.denominator, b.remainder) for b in shares] == [
        (w["settlor_org"].id, 1, 2, True), (w["ent_org"].id, 1, 3, False), (w["dept_org"].id, 1, 6, False),
    ]  # fmt: skip
    page = client.get(f"/trusts/{trust_id}").text
    assert "草稿" in page and 'id="edit-trust"' in page and 'id="approve"' not in page


def test_the_settlor_edits_its_draft_and_only_a_draft(client: TestClient, session: Session, tw: dict[str, Any]) -> None:
    w = tw
    trust = trusts.create_trust(session, w["settlor"], trust_in(w))
    sign_in(client, w["rival"])
    assert client.get(f"/trusts/{trust.id}/edit").status_code == 404  # not even seen
    sign_in(client, w["ent"])
    assert client.get(f"/trusts/{trust.id}/edit").status_code == 403  # a beneficiary reads, does not edit

    sign_in(client, w["settlor"])
    form = client.get(f"/trusts/{trust.id}/edit").text
    assert 'name="code" type="text" required maxlength="64" value="qd-credit-trust" readonly' in form
    assert 'id="ben-share-1" name="ben_share_1" type="text" value="1/3"' in form
    assert 'name="fee_rate" type="text" inputmode="decimal" value="1.5"' in form
    data = form_data(w, title="企业信用数据信托（修订）", fee_kind="fixed", fee_rate="", fee_fixed="5,000.00",
                     code="changed-code")  # fmt: skip
    done = post_form(client, f"/trusts/{trust.id}/edit", f"/trusts/{trust.id}/edit", data)
    assert done.status_code == 303 and done.headers["location"] == f"/trusts/{trust.id}"
    edited = stored(session, trust.id)
    assert (edited.title, edited.code, edited.fee_fixed_fen, edited.fee_rate_bp, edited.version) == (
        "企业信用数据信托（修订）", "qd-credit-trust", 500_000, None, 2
    )  # fmt: skip
    assert "每次分配 5,000.00 元（不超过当次分配总额）" in client.get(f"/trusts/{trust.id}").text

    trusts.approve(session, w["operator"], trust.id)
    r = client.get(f"/trusts/{trust.id}/edit")
    assert r.status_code == 403 and "只有草稿可以修改" in r.text
    r = post_form(client, f"/trusts/{trust.id}", f"/trusts/{trust.id}/edit", data)
    assert r.status_code == 409 and "只有草稿可以修改" in r.text
    assert stored(session, trust.id).version == 2


def test_the_trust_page_shows_parties_shares_assets_and_each_distribution_in_yuan(
    client: TestClient, session: Session, tw: dict[str, Any]
) -> None:
    w = tw
    trust = trusts.create_trust(session, w["settlor"], trust_in(w))
    trusts.approve(session, w["operator"], trust.id)
    first = fund_and_distribute(session, w, trust.id, 1_000_000, "trust-dist:2026-10")
    fund_and_distribute(session, w, trust.id, 1, "trust-dist:2026-11")  # 1 fen: all of it remainder

    for who in ("ent", "trustee", "settlor", "operator"):
        sign_in(client, w[who])
        page = client.get(f"/trusts/{trust.id}")
        assert page.status_code == 200, who
        text = page.text
        assert re.search(r'id="meta-settlor">' + re.escape(w["settlor_org"].name), text)
        assert re.search(r'id="meta-trustee">' + re.escape(w["trustee_org"].name), text)
        assert "每次分配总额的 1.50%（150 个基点" in text and "存续" in text
        assert f"{trust.term_start} 至 {trust.term_end}" in text
        for org, share, percent in ((w["settlor_org"], "1/2", "50%"), (w["ent_org"], "1/3", "≈33.33%"),
                                    (w["dept_org"], "1/6", "≈16.67%")):  # fmt: skip
            assert f'id="share-{org.id}">{share}<' in text and f'id="percent-{org.id}">{percent}<' in text
        assert f'<a href="/registry/verify/{w["asset"]}">{w["asset"]}</a>' in text
        assert "各区金额数据资源" in text  # the certificate's title
        # gross 10,000.00 → fee 150.00 → 4,925.01 (1/2, with the 1 fen remainder), 3,283.33, 1,641.66
        d = first.id
        assert f'id="gross-{d}">10,000.00<' in text and f'id="fee-{d}">150.00<' in text
        assert f'id="net-{d}">9,850.00<' in text
        assert f'id="part-{d}-{w["settlor_org"].id}">4,925.01<' in text
        assert f'id="part-{d}-{w["ent_org"].id}">3,283.33<' in text
        assert f'id="part-{d}-{w["dept_org"].id}">1,641.66<' in text
        assert re.search(r'id="distribution-totals">.*?10,000.01.*?150.00.*?9,850.01.*?4,925.02', text, re.S)
        assert ('id="approve"' in text) is False and ('id="terminate"' in text) is (who == "operator")

    sign_in(client, w["ent"])
    listing = client.get("/trusts").text
    row = re.search(rf'id="trust-{trust.id}">.*?</tr>', listing, re.S).group(0)
    assert "企业信用数据资产服务信托" in row and "受益人" in row and "存续" in row and 'id="new-trust"' in listing
    sign_in(client, w["trustee"])
    row = re.search(rf'id="trust-{trust.id}">.*?</tr>', client.get("/trusts").text, re.S).group(0)
    assert "受托人" in row
    assert 'id="new-trust"' not in client.get("/trusts").text  # a trustee does not set up trusts
    assert client.get("/trusts/new").status_code == 403

    sign_in(client, w["stranger"])
    r = client.get(f"/trusts/{trust.id}")
    assert r.status_code == 404 and "数据信托不存在" in r.text and "10,000.00" not in r.text
    assert "本机构尚未参与任何数据信托" in client.get("/trusts").text
    assert client.get("/trusts?state=nope").status_code == 400


def test_the_operator_approves_and_terminates_with_refusals_shown_on_the_page(
    client: TestClient, session: Session, tw: dict[str, Any]
) -> None:
    w = tw
    trust = trusts.create_trust(session, w["settlor"], trust_in(w))
    expired = trusts.create_trust(session, w["settlor"], trust_in(w, code="old-trust", title="期限已满的信托"))
    row = session.get(AssetTrust, expired.id)
    row.term_start, row.term_end = beijing_today() - timedelta(days=40), beijing_today() - timedelta(days=1)
    session.flush()

    sign_in(client, w["settlor"])
    refused = post_form(client, f"/trusts/{trust.id}", f"/trusts/{trust.id}/approve", {})
    assert refused.status_code == 403 and "trust:review" in refused.text
    assert stored(session, trust.id).state == "draft"

    sign_in(client, w["operator"])
    listing = client.get("/trusts?state=draft").text
    assert f'id="trust-{trust.id}"' in listing and f'id="trust-{expired.id}"' in listing
    page = client.get(f"/trusts/{trust.id}").text
    assert 'id="approve"' in page and 'id="terminate"' in page
    assert client.post(f"/trusts/{trust.id}/approve", data={}).status_code == 403  # no CSRF token
    assert stored(session, trust.id).state == "draft"
    late = post_form(client, f"/trusts/{expired.id}", f"/trusts/{expired.id}/approve", {})
    assert late.status_code == 409 and re.search(r'id="approve-error"[^>]*>信托期限已于 .* 届满，不能设立', late.text)
    assert stored(session, expired.id).state == "draft"

    done = post_form(client, f"/trusts/{trust.id}", f"/trusts/{trust.id}/approve", {})
    assert done.status_code == 303 and stored(session, trust.id).state == "active"
    page = client.get(f"/trusts/{trust.id}").text
    assert 'id="approve"' not in page and f"trust:{trust.id}:clearing" in page and "经运营方审核设立" in page

    blank = post_form(client, f"/trusts/{trust.id}", f"/trusts/{trust.id}/terminate", {"reason": "  "})
    assert blank.status_code == 422 and re.search(r'id="terminate-error"[^>]*>终止数据信托须写明理由', blank.text)
    assert stored(session, trust.id).state == "active"
    ended = post_form(client, f"/trusts/{trust.id}", f"/trusts/{trust.id}/terminate", {"reason": "委托人申请提前终止"})
    assert ended.status_code == 303 and stored(session, trust.id).state == "ended"
    page = client.get(f"/trusts/{trust.id}").text
    assert "已终止" in page and "委托人申请提前终止" in page and 'id="terminate"' not in page

    # the operator may set one up for any settlor: it chooses the settlor on the form
    form = client.get("/trusts/new").text
    assert 'name="settlor_org_id"' in form and w["settlor_org"].name in form
