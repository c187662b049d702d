"""The pubdata CLI: organisations, users and tokens, in a home of its own."""

import json

import pytest
from typer.testing import CliRunner

from pubdata.cli import app
from pubdata.db import get_engine
from pubdata.settings import get_settings
from tests.conftest import database_url

runner = CliRunner()


@pytest.fixture
def cli_home(tmp_path, monkeypatch):
    monkeypatch.setenv("PUBDATA_HOME", str(tmp_path))
    monkeypatch.setenv("PUBDATA_DATABASE_URL", database_url(tmp_path, name="cli"))
    yield tmp_path
    get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


def run(*args):
    return runner.invoke(app, list(args))


def test_user_and_token_creation(cli_home):
    r = run("org", "create", "qd-swj", "青岛市商务局", "--kind", "department", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["kind"] == "department"
    r = run("user", "create", "alice", "--org", "qd-swj", "--password", "s3cret-pass", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["roles"] == ["department"]
    r = run("token", "create", "alice", "--scope", "read", "--scope", "catalog:write", "--days", "3", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["token"].startswith("pd_") and out["scopes"] == ["catalog:write", "read"]
    # only the hash is stored
    from sqlalchemy import text

    with get_engine().connect() as conn:
        stored = conn.execute(text("select token_hash from identity_api_token")).scalar_one()
    assert out["token"] not in stored
    r = run("token", "revoke", str(out["id"]), "--json")
    assert r.exit_code == 0 and json.loads(r.output)["revoked"] is True


def test_bad_input_exits_non_zero_with_the_problem(cli_home):
    r = run("org", "create", "e1", "某企业", "--kind", "enterprise", "--uscc", "91370200MA3C4D5E60", "--json")
    assert r.exit_code == 1
    assert json.loads(r.output)["error"]["details"][0]["field"] == "uscc"
    r = run("user", "create", "bob", "--org", "no-such-org", "--password", "s3cret-pass")
    assert r.exit_code == 2 and "no-such-org" in r.output
    r = run("user", "create", "carol", "--password", "short")
    assert r.exit_code == 1 and "password" in r.output
    r = run("token", "create", "nobody", "--json")
    assert r.exit_code == 2
