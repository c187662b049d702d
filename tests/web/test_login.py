"""Portal sign-in and sign-out: the session cookie, CSRF on every form, open-redirect refusal."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pubdata.identity.models import LoginSession
from pubdata.web import csrf
from pubdata.web.account import safe_next
from tests import builders
from tests.web.helpers import hidden_field, login


@pytest.fixture
def user(session):  # type: ignore[no-untyped-def]
    org = builders.make_org(session, "department", name="青岛市大数据发展管理局")
    return builders.make_user(session, org, username="wanghong", display_name="王红", roles=["department"])


def _sessions(session, user) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(LoginSession).where(LoginSession.user_id == user.id))


def _set_cookie_headers(response) -> list[str]:  # type: ignore[no-untyped-def]
    return response.headers.get_list("set-cookie")


def test_login_form_carries_a_signed_double_submit_token(client):
    r = client.get("/user/login")
    assert r.status_code == 200
    assert "用户登录" in r.text and 'name="username"' in r.text and 'name="password"' in r.text
    token = hidden_field(r.text, "csrf_token")
    assert client.cookies.get(csrf.LOGIN_CSRF_COOKIE) == token
    assert csrf.login_token_is_valid("test-secret", token)
    assert not csrf.login_token_is_valid("another-secret", token)
    cookie = next(c for c in _set_cookie_headers(r) if c.startswith(csrf.LOGIN_CSRF_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/user" in cookie


def test_login_success_sets_session_cookie_and_shows_the_user(client, session, settings, user):
    r = login(client, "wanghong")
    assert r.status_code == 303
    assert r.headers["location"] == "/"
    cookie = next(c for c in _set_cookie_headers(r) if c.startswith("pubdata_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert f"Max-Age={settings.session_hours * 3600}" in cookie
    assert "Secure" not in cookie  # the test base_url is http
    assert _sessions(session, user) == 1

    home = client.get("/")
    assert "王红" in home.text and "青岛市大数据发展管理局" in home.text
    assert ">退出</button>" in home.text and ">登录</a>" not in home.text
    login_row = session.scalars(select(LoginSession).where(LoginSession.user_id == user.id)).one()
    assert hidden_field(home.text, "csrf_token") == login_row.csrf_token

    me = client.get("/user/me")
    assert me.status_code == 200
    assert "个人中心" in me.text and "wanghong" in me.text and "数据提供方" in me.text
    assert "青岛市大数据发展管理局（政府部门）" in me.text


def test_login_cookie_is_secure_when_served_over_https(app, client, user):
    app.state.settings = app.state.settings.model_copy(update={"base_url": "https://data.qingdao.example"})
    form = client.get("/user/login")
    token_cookie = next(c for c in _set_cookie_headers(form) if c.startswith(csrf.LOGIN_CSRF_COOKIE))
    assert "Secure" in token_cookie
    token = hidden_field(form.text, "csrf_token")
    r = _post_with_token(client, token)  # the Secure cookie is not sent back over http by the client
    assert r.status_code == 303
    cookie = next(c for c in _set_cookie_headers(r) if c.startswith("pubdata_session="))
    assert "Secure" in cookie


def test_wrong_password_shows_the_form_again(client, session, user):
    r = login(client, "wanghong", "wrong-password")
    assert r.status_code == 401
    assert "用户名或密码错误" in r.text
    assert 'value="wanghong"' in r.text  # the username is kept
    assert not any(c.startswith("pubdata_session=") for c in _set_cookie_headers(r))
    assert _sessions(session, user) == 0


def test_unknown_user_gets_the_same_message(client):
    r = login(client, "nobody")
    assert r.status_code == 401
    assert "用户名或密码错误" in r.text


def test_login_without_csrf_token_is_refused(client, session, user):
    client.get("/user/login")  # the cookie is there, the form field is not
    r = client.post("/user/login", data={"username": "wanghong", "password": builders.PASSWORD}, follow_redirects=False)
    assert r.status_code == 403
    assert "禁止访问" in r.text and "CSRF" in r.text
    assert not any(c.startswith("pubdata_session=") for c in _set_cookie_headers(r))
    assert _sessions(session, user) == 0


def test_login_with_wrong_csrf_token_is_refused(client, session, user):
    client.get("/user/login")
    r = client.post(
        "/user/login",
        data={"username": "wanghong", "password": builders.PASSWORD, "csrf_token": csrf.new_login_token("test-secret")},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert _sessions(session, user) == 0


def _post_with_token(client, token):  # type: ignore[no-untyped-def]
    client.cookies.clear()
    client.cookies.set(csrf.LOGIN_CSRF_COOKIE, token, path="/user")
    return client.post(
        "/user/login",
        data={"username": "wanghong", "password": builders.PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )


def test_login_with_matching_but_unsigned_token_is_refused(client, session, user):
    assert _post_with_token(client, "attacker-nonce.0000").status_code == 403
    assert _post_with_token(client, "no-signature-at-all").status_code == 403
    assert _post_with_token(client, csrf.new_login_token("another-secret")).status_code == 403
    assert _sessions(session, user) == 0
    # the same request with a token signed by the platform's key goes through
    assert _post_with_token(client, csrf.new_login_token("test-secret")).status_code == 303
    assert _sessions(session, user) == 1


def test_login_without_the_cookie_is_refused(client, session, user):
    token = hidden_field(client.get("/user/login").text, "csrf_token")
    client.cookies.clear()
    r = client.post(
        "/user/login",
        data={"username": "wanghong", "password": builders.PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert _sessions(session, user) == 0


def test_login_redirects_to_a_local_next_page(client, user):
    r = login(client, "wanghong", next_url="/dataset?q=%E5%8C%BB%E7%96%97")
    assert r.status_code == 303
    assert r.headers["location"] == "/dataset?q=%E5%8C%BB%E7%96%97"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "http:evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/\tevil",
        "///evil.example",
    ],
)
def test_login_refuses_open_redirects(client, user, target):
    r = login(client, "wanghong", next_url=target)
    assert r.status_code == 303
    assert r.headers["location"] == "/"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (None, "/"),
        ("", "/"),
        ("/dataset", "/dataset"),
        ("/dataset/abc?x=1#top", "/dataset/abc?x=1#top"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/x", "/"),
        ("/user/login", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
    ],
)
def test_safe_next(target, expected):
    assert safe_next(target) == expected


def test_login_link_carries_the_current_page(client):
    html = client.get("/dataset").text
    assert 'href="/user/login?next=/dataset"' in html


def test_signed_in_user_visiting_login_is_sent_on(client, user):
    login(client, "wanghong")
    r = client.get("/user/login", params={"next": "/dataset"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dataset"


def test_logout_requires_the_session_csrf_token(client, session, user):
    login(client, "wanghong")
    assert _sessions(session, user) == 1
    missing = client.post("/user/logout", follow_redirects=False)
    assert missing.status_code == 403 and "CSRF" in missing.text
    wrong = client.post("/user/logout", data={"csrf_token": "not-the-token"}, follow_redirects=False)
    assert wrong.status_code == 403
    assert _sessions(session, user) == 1
    assert "王红" in client.get("/user/me").text  # still signed in

    token = hidden_field(client.get("/").text, "csrf_token")
    r = client.post("/user/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert any(c.startswith('pubdata_session=""') or "Max-Age=0" in c for c in _set_cookie_headers(r))
    assert _sessions(session, user) == 0
    home = client.get("/")
    assert "王红" not in home.text and ">登录</a>" in home.text


def test_me_requires_login(client):
    r = client.get("/user/me", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/user/login?next=/user/me"


def test_expired_or_unknown_session_cookie_is_anonymous(client):
    client.cookies.set("pubdata_session", "not-a-session")
    html = client.get("/").text
    assert ">登录</a>" in html and ">退出</button>" not in html
