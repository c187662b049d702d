"""Machine access: OAuth2 client credentials, per-token rate limits with Retry-After that survive a
restart, and refused tokens recorded in the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update

from pubdata.audit.models import AuditRecord
from pubdata.db import utcnow
from pubdata.identity import machines
from pubdata.identity.models import ApiToken, TokenUsage


def register(session, actor, **kw):
    return machines.create_client(session, actor, name="信贷审批系统", scopes=kw.pop("scopes", ["read"]), **kw)


def test_client_credentials_grant_issues_a_working_short_lived_token(client, session, as_actor):
    bank = as_actor("bank")
    registered, secret = register(session, bank, token_minutes=30)
    r = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(registered.client_id, secret))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 1800 and body["scope"] == "read"
    assert r.headers["cache-control"] == "no-store"
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json()["username"] == bank.username
    # form fields work as well as HTTP Basic
    r = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": registered.client_id, "client_secret": secret},
    )
    assert r.status_code == 200


def test_token_endpoint_errors_follow_rfc_6749_and_are_audited(client, session, as_actor):
    registered, secret = register(session, as_actor("bank"))
    r = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(registered.client_id, "wrong"))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert r.headers["www-authenticate"].startswith("Basic")
    r = client.post("/oauth/token", data={"grant_type": "password"}, auth=(registered.client_id, secret))
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "scope": "admin"}, auth=(registered.client_id, secret)
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope" and "admin" in r.json()["error_description"]
    (refused,) = session.scalars(select(AuditRecord).where(AuditRecord.action == "auth.client"))
    assert refused.result == "refused" and registered.client_id in refused.reason


def test_revoking_a_client_revokes_its_tokens(client, session, as_actor, token_for):
    bank = as_actor("bank")
    registered, secret = register(session, bank)
    access = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(registered.client_id, secret)
    ).json()["access_token"]
    r = client.delete(
        f"/api/v1/oauth-clients/{registered.client_id}",
        headers={"Authorization": f"Bearer {token_for(bank, scopes=['read', 'tokens'])}"},
    )
    assert r.status_code == 200 and r.json()["revoked_at"]
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {access}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "identity.token_revoked"
    r = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(registered.client_id, secret))
    assert r.status_code == 401


def test_clients_api_shows_the_secret_once(client, as_actor, token_for):
    headers = {"Authorization": f"Bearer {token_for(as_actor('enterprise'), scopes=['read', 'tokens'])}"}
    r = client.post(
        "/api/v1/oauth-clients", json={"name": "ERP 对接", "scopes": ["read"], "rate_per_minute": 60}, headers=headers
    )
    assert r.status_code == 201 and r.json()["client_secret"] and r.json()["client_id"].startswith("pdc_")
    (listed,) = client.get("/api/v1/oauth-clients", headers=headers).json()
    assert "client_secret" not in listed and listed["rate_per_minute"] == 60
    r = client.post("/api/v1/oauth-clients", json={"name": "x", "scopes": ["everything"]}, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "scopes"


def test_per_token_rate_limit_answers_429_and_survives_a_restart(app, client, session, as_actor, token_for):
    secret = token_for(as_actor("enterprise"))
    session.execute(update(ApiToken).values(rate_per_minute=3))
    headers = {"Authorization": f"Bearer {secret}"}
    for _ in range(2):  # a second go only if a minute boundary fell inside the first
        minute = datetime.now(UTC).minute
        codes = [client.get("/api/v1/me", headers=headers).status_code for _ in range(4)]
        with TestClient(app) as restarted:  # a new server process reads the same counters
            again = restarted.get("/api/v1/me", headers=headers)
        if datetime.now(UTC).minute == minute:
            break
        session.execute(delete(TokenUsage))
    assert codes[:3] == [200, 200, 200] and codes[3] == 429 and again.status_code == 429
    assert 1 <= int(again.headers["retry-after"]) <= 60 and "每分钟最多 3 次" in again.json()["error"]["message"]


def test_expired_and_unknown_tokens_are_refused_clearly_and_audited(client, session, as_actor, token_for):
    secret = token_for(as_actor("bank"))
    session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(minutes=1)))
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "identity.token_expired"
    r = client.get("/api/v1/me", headers={"Authorization": "Bearer pd_not-a-token"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "identity.invalid_token"
    reasons = [
        r.reason
        for r in session.scalars(
            select(AuditRecord).order_by(AuditRecord.seq).where(AuditRecord.action == "auth.token")
        )
    ]
    assert reasons == ["API 令牌已过期", "API 令牌无效（未知的令牌）"]


def test_cli_registers_and_revokes_a_client(tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from pubdata.cli import app as cli
    from pubdata.db import forget_engine, get_engine
    from pubdata.settings import get_settings
    from tests.conftest import database_url

    monkeypatch.setenv("PUBDATA_HOME", str(tmp_path))
    monkeypatch.setenv("PUBDATA_DATABASE_URL", database_url(tmp_path, name="clientcli"))
    runner = CliRunner()
    try:
        assert runner.invoke(cli, ["org", "create", "qd-bank", "青岛某银行", "--kind", "bank"]).exit_code == 0
        assert (
            runner.invoke(
                cli, ["user", "create", "teller", "--org", "qd-bank", "--password", "Laoshan-tide-2071"]
            ).exit_code
            == 0
        )
        r = runner.invoke(cli, ["client", "create", "teller", "--name", "信贷系统", "--rate", "30", "--json"])
        assert r.exit_code == 0, r.output
        made = json.loads(r.output)
        assert made["client_id"].startswith("pdc_") and made["client_secret"]
        r = runner.invoke(cli, ["client", "revoke", made["client_id"], "--json"])
        assert r.exit_code == 0 and json.loads(r.output)["revoked"] is True
        assert runner.invoke(cli, ["client", "revoke", "pdc_nope"]).exit_code == 2
    finally:
        get_engine().dispose()
        get_settings.cache_clear()
        forget_engine()
