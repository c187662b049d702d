"""Zone pages: the zones, a zone's rules and catalogue, applying with qualifications (CSRF), and
the operator admitting an application."""

from __future__ import annotations

import re

from pubdata.access import zones
from tests.builders import make_entry, make_org, make_user
from tests.web.helpers import hidden_field, login

QUALIFICATIONS = "金融许可证 B0001H237020001，等保三级备案"


def test_zones_list_and_zone_page(client, session, as_actor):
    entry = make_entry(session, as_actor("department"), title="企业纳税信用等级", open_type="conditional")
    zones.add_entry(session, as_actor("operator"), "finance", entry.code)
    html = client.get("/zones").text
    assert "金融专区" in html and "医疗专区" in html
    page = client.get("/zones/finance").text
    assert "企业纳税信用等级" in page and "登录后申请加入" in page
    assert "隐私计算沙箱" in client.get("/zones/medical").text
    assert client.get("/zones/nowhere").status_code == 404


def test_apply_and_admit_through_the_pages(client, session, as_actor):
    bank_org = as_actor("bank")
    user = make_user(
        session,
        session.get(
            __import__("pubdata.identity.models", fromlist=["Organisation"]).Organisation, bank_org.organisation_id
        ),
        roles=["bank"],
    )
    assert login(client, user.username).status_code == 303
    page = client.get("/zones/finance").text
    token = hidden_field(page, "csrf_token")
    refused = client.post("/zones/finance/apply", data={"qualifications": QUALIFICATIONS})
    assert refused.status_code == 403  # no CSRF token
    short = client.post("/zones/finance/apply", data={"qualifications": "有资质", "csrf_token": token})
    assert short.status_code == 422 and "至少 10 个字" in short.text
    done = client.post(
        "/zones/finance/apply", data={"qualifications": QUALIFICATIONS, "csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303
    assert "正在审核中" in client.get("/zones/finance").text
    client.post("/user/logout", data={"csrf_token": hidden_field(client.get("/zones").text, "csrf_token")})

    op_user = make_user(session, make_org(session, "operator"), roles=["operator"])
    login(client, op_user.username)
    page = client.get("/zones/finance").text
    assert QUALIFICATIONS in page
    member_id = re.search(r'action="/zones/finance/members/(\d+)"', page).group(1)
    r = client.post(
        f"/zones/finance/members/{member_id}",
        data={"decision": "admit", "csrf_token": hidden_field(page, "csrf_token")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "已加入" in client.get("/zones/finance").text
