"""Recipient profiles through the API (``/api/v1/sharing/profiles``) and the portal page
(/user/sharing, 数据共享凭证): issued for oneself and shown once, listed, revoked; the operator sees
and revokes everyone's; every form needs its CSRF token."""

from __future__ import annotations

import html
import json
import re

from pubdata.sharing import profiles
from tests.web.helpers import hidden_field, login


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sign_in(client, actor):
    client.cookies.clear()
    assert login(client, actor.username).status_code == 303


def test_the_api_issues_lists_and_revokes_profiles(client, session, as_actor, token_for):
    bank = as_actor("bank")
    token = token_for(bank, ["read", "tokens"])
    r = client.post("/api/v1/sharing/profiles", json={"name": "风控系统", "days": 7}, headers=bearer(token))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "active" and body["profile"]["endpoint"] == "http://testserver/delta-sharing"
    secret = body["profile"]["bearerToken"]
    assert profiles.recipient_from_token(session, secret).profile_id == body["id"]
    listed = client.get("/api/v1/sharing/profiles", headers=bearer(token)).json()
    assert [p["id"] for p in listed] == [body["id"]] and "profile" not in listed[0]
    assert secret not in json.dumps(listed)
    assert client.get("/api/v1/sharing/profiles?all=true", headers=bearer(token)).status_code == 403
    r = client.post("/api/v1/sharing/profiles", json={"name": "x", "days": 10_000}, headers=bearer(token))
    assert r.status_code == 422 and r.json()["error"]["code"] == "sharing.invalid_profile"
    other = token_for(as_actor("enterprise"), ["read", "tokens"])
    assert client.delete(f"/api/v1/sharing/profiles/{body['id']}", headers=bearer(other)).status_code == 404
    r = client.delete(f"/api/v1/sharing/profiles/{body['id']}?reason=不再合作", headers=bearer(token))
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    r = client.get("/delta-sharing/shares", headers=bearer(secret))
    assert r.status_code == 401 and r.json()["errorCode"] == "UNAUTHENTICATED"


def test_a_profile_is_no_api_token(client, session, as_actor):
    _, file = profiles.issue_profile(session, as_actor("bank"), name="x", base_url="http://testserver")
    r = client.get("/api/v1/me", headers=bearer(file["bearerToken"]))
    assert r.status_code == 401


def test_the_portal_page_issues_a_profile_once_and_revokes_it(client, session, as_actor):
    bank = as_actor("bank")
    sign_in(client, bank)
    page = client.get("/user/sharing")
    assert page.status_code == 200 and "数据共享凭证" in page.text and "还没有共享凭证" in page.text
    csrf = hidden_field(page.text, "csrf_token")
    assert client.post("/user/sharing", data={"name": "合作方", "csrf_token": "x"}).status_code == 403
    r = client.post("/user/sharing", data={"name": "合作方", "days": "5", "csrf_token": csrf})
    assert r.status_code == 200 and "凭证文件只显示这一次" in r.text
    shown = json.loads(html.unescape(re.search(r'<pre id="profile-json">(.*?)</pre>', r.text, re.S).group(1)))
    assert shown["shareCredentialsVersion"] == 1 and shown["bearerToken"].startswith("pds_")
    assert 'download="pubdata-' in r.text
    again = client.get("/user/sharing")
    assert shown["bearerToken"] not in again.text and "合作方" in again.text and "有效" in again.text
    profile_id = profiles.recipient_from_token(session, shown["bearerToken"]).profile_id
    r = client.post(f"/user/sharing/{profile_id}/revoke", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert "已吊销" in client.get("/user/sharing").text
    r = client.post("/user/sharing", data={"name": "x", "days": "abc", "csrf_token": csrf})
    assert r.status_code == 422 and "有效期" in r.text


def test_the_operator_sees_and_revokes_everyones_profiles(client, session, as_actor):
    bank = as_actor("bank")
    row, _ = profiles.issue_profile(session, bank, name="银行的凭证", base_url="http://testserver")
    sign_in(client, as_actor("operator"))
    page = client.get("/user/sharing")
    assert "全部凭证" in page.text and "银行的凭证" in page.text
    csrf = hidden_field(page.text, "csrf_token")
    r = client.post(f"/user/sharing/{row.id}/revoke", data={"csrf_token": csrf, "reason": "安全检查"})
    assert r.status_code == 200 and "已吊销" in r.text
    sign_in(client, as_actor("enterprise"))
    page = client.get("/user/sharing")
    assert "银行的凭证" not in page.text
    csrf = hidden_field(page.text, "csrf_token")
    assert client.post(f"/user/sharing/{row.id}/revoke", data={"csrf_token": csrf}).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client):
    r = client.get("/user/sharing", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/user/login")
