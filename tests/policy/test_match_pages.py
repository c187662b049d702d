"""政策推送 pages: an enterprise's inbox (badge, opening marks read, CSRF-checked forms), 为我推荐,
and the reach page with its charts and the operator's match button; who sees what."""

from __future__ import annotations

import re

from pubdata.authz import SYSTEM
from pubdata.identity.models import Organisation
from pubdata.policy.matching import match
from tests.builders import make_org, make_user
from tests.policy.facts_builder import PACK, code, publish_facts
from tests.web.helpers import embedded_json, hidden_field, login

E1, E2 = code(21), code(22)
ROWS = [
    {"uscc": E1, "name": "青岛甲跨境电商有限公司", "registered_district": "市南区", "has_independent_site": True,
     "cbec_export_amount": 30_000_000, "independent_site_investment": 300_000,
     "provincial_key_platform_2022": True, "cbec_import_export_amount": 60_000_000},
    {"uscc": E2, "name": "青岛乙贸易有限公司", "registered_district": "黄岛区",
     "provincial_key_overseas_warehouse_2022": True, "cbec_export_amount": 250_000_000},
]  # fmt: skip


def sign_in(client, session, role: str, org: Organisation | None = None):  # type: ignore[no-untyped-def]
    org = org or make_org(session, {"enterprise": "enterprise"}.get(role, role))
    user = make_user(session, org, roles=[role])
    assert login(client, user.username).status_code == 303
    return user


def test_enterprise_inbox_and_policies_for_me(client, session, settings):
    publish_facts(session, settings.home, ROWS)
    match.match_pack(session, SYSTEM, PACK, home=settings.home)
    assert client.get("/me/notices", follow_redirects=False).headers["location"].startswith("/user/login")
    sign_in(client, session, "enterprise", make_org(session, "enterprise", uscc=E1))

    home = client.get("/").text
    assert 'href="/me/notices"' in home and 'hx-get="/me/notices/count"' in home
    assert ">2</span>" in client.get("/me/notices/count").text

    page = client.get("/me/notices")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    html = page.text
    assert "您符合“支持跨境电商出口独立站建设”条件：10万元" in html and "最高50万元" in html
    assert f'href="/policies/{PACK}/apply/key_platform"' in html and "一键申报" in html
    assert "青岛乙贸易有限公司" not in html and "公共海外仓" not in html  # another enterprise's notice
    ids = re.findall(r'id="notice-(\d+)"', html)
    assert len(ids) == 2

    opened = client.get(f"/me/notices/{ids[0]}")
    assert opened.status_code == 200 and 'id="apply-link"' in opened.text
    assert ">1</span>" in client.get("/me/notices/count").text  # opening it marked it read

    refused = client.post(f"/me/notices/{ids[1]}/read", data={})
    assert refused.status_code == 403  # no CSRF token
    token = hidden_field(html, "csrf_token")
    done = client.post(f"/me/notices/{ids[1]}/read", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/me/notices"
    assert "hidden" in client.get("/me/notices/count").text
    assert "未读" not in client.get("/me/notices").text.split('id="notice-list"')[1]

    mine = client.get("/me/policies").text
    assert "符合条件（2）" in mine and "省重点培育跨境电商平台奖励" in mine and "最高50万元" in mine
    assert f"/policies/{PACK}/apply/independent_site" in mine
    assert client.get("/me/notices/999999").status_code == 404


def test_reach_page_for_departments_and_the_operator_button(client, session, settings):
    publish_facts(session, settings.home, ROWS)
    sign_in(client, session, "operator")
    empty = client.get(f"/policies/{PACK}/reach").text
    assert 'id="no-run"' in empty and 'id="match-form"' in empty
    form_page = client.get(f"/policies/{PACK}/reach").text
    r = client.post(
        f"/policies/{PACK}/match", data={"csrf_token": hidden_field(form_page, "csrf_token")}, follow_redirects=False
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "新推送 3 条" in page and 'id="chart-districts"' in page and "echarts.min.js" in page
    data = embedded_json(page, "reach-data")
    assert data["districts"][0] == "市南区"
    platform = next(c for c in data["clauses"] if c["id"] == "key_platform")
    assert platform["eligible"][0] == 1 and platform["up_to_wan"] == 50
    assert 'href="/policies/qingdao-cbec-2023/matches?clause=key_platform&state=eligible"' in page

    matches = client.get(f"/policies/{PACK}/matches?clause=overseas_warehouse").text
    assert "青岛乙贸易有限公司" in matches and "最高100万元" in matches
    assert "青岛甲跨境电商有限公司" not in matches
    assert "未知的区" in client.get(f"/policies/{PACK}/matches?district=北京").text
    assert 'id="reach-link"' in client.get(f"/policies/{PACK}").text


def test_reach_visibility_by_role(client, session, settings):
    publish_facts(session, settings.home, ROWS)
    match.match_pack(session, SYSTEM, PACK, home=settings.home)
    assert client.get(f"/policies/{PACK}/reach", follow_redirects=False).status_code == 303  # sign in first
    sign_in(client, session, "enterprise", make_org(session, "enterprise", uscc=E2))
    assert client.get(f"/policies/{PACK}/reach").status_code == 403
    assert client.get(f"/policies/{PACK}/matches").status_code == 403
    assert 'id="reach-link"' not in client.get(f"/policies/{PACK}").text
    client.cookies.clear()
    sign_in(client, session, "regulator")
    page = client.get(f"/policies/{PACK}/reach")
    assert page.status_code == 200 and 'id="match-form"' not in page.text
    assert "/matches?" not in page.text  # the regulator sees aggregates, not the enterprises
    assert client.get(f"/policies/{PACK}/matches").status_code == 403
    client.cookies.clear()
    sign_in(client, session, "department")
    page = client.get(f"/policies/{PACK}/reach").text
    assert 'id="match-form"' not in page and "/matches?" in page
    assert (
        client.post(f"/policies/{PACK}/match", data={"csrf_token": hidden_field(page, "csrf_token")}).status_code == 403
    )
