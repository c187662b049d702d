"""The pubdata CLI: organisations, users and tokens, in a home of its own."""

import json

import pytest
from typer.testing import CliRunner

from pubdata.cli import app
from pubdata.db import forget_engine, get_engine
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
    forget_engine()


def run(*args):
    return runner.invoke(app, list(args))


def test_user_and_token_creation(cli_home):
    r = run("org", "create", "qd-swj", "青岛市商务局", "--kind", "department", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["kind"] == "department"
    r = run("user", "create", "alice", "--org", "qd-swj", "--password", "Laoshan-tide-2071", "--json")
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
    r = run("user", "create", "bob", "--org", "no-such-org", "--password", "Laoshan-tide-2071")
    assert r.exit_code == 2 and "no-such-org" in r.output
    r = run("user", "create", "carol", "--password", "short")
    assert r.exit_code == 1 and "password" in r.output
    r = run("token", "create", "nobody", "--json")
    assert r.exit_code == 2


def entry_of_a_new_department(code: str) -> None:
    """An organisation made through the CLI, and a catalogue entry of it (the CLI has no entry command)."""
    assert run("org", "create", "qd-scj", "青岛市市场监督管理局", "--kind", "department").exit_code == 0
    from pubdata.authz import SYSTEM
    from pubdata.catalog import service as catalog
    from pubdata.catalog.schemas import EntryCreate
    from pubdata.db import session_scope

    with session_scope() as s:
        catalog.create_entry(
            s,
            SYSTEM,
            EntryCreate(
                code=code, title="市场主体登记", category="business", open_type="unconditional", organisation="qd-scj"
            ),
        )


def test_resource_create_prints_the_new_id_and_refuses_bad_schemas(cli_home, tmp_path):
    entry_of_a_new_department("QD-T-1")
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"fields": [{"name": "uscc", "type": "string", "semanticType": "uscc"}]}))
    r = run("resource", "create", "QD-T-1", "登记信息", "--schema", str(schema))
    assert r.exit_code == 0, r.output
    resource_id = r.output.strip()
    assert len(resource_id) == 36
    schema.write_text(json.dumps({"fields": [{"name": "uscc", "type": "strange"}]}))
    r = run("resource", "create", "QD-T-1", "坏表", "--schema", str(schema), "--json")
    assert r.exit_code == 1 and json.loads(r.output)["error"]["code"] == "store.invalid_schema"
    schema.write_text("{not json")
    r = run("resource", "create", "QD-T-1", "坏表", "--schema", str(schema))
    assert r.exit_code == 1 and "schema" in r.output


def test_resource_create_gives_the_declared_resource_its_table_once(cli_home, tmp_path):
    from pubdata.authz import SYSTEM
    from pubdata.catalog import service as catalog
    from pubdata.db import session_scope

    entry_of_a_new_department("QD-T-3")  # declares one resource, named as its title
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"fields": [{"name": "uscc", "type": "string", "semanticType": "uscc"}]}))
    r = run("resource", "create", "QD-T-3", "市场主体登记", "--schema", str(schema), "--json")
    assert r.exit_code == 0, r.output
    with session_scope() as s:
        (resource,) = catalog.get_entry(s, SYSTEM, "QD-T-3").resources
    assert json.loads(r.output)["resource_id"] == resource.id
    r = run("resource", "create", "QD-T-3", "市场主体登记", "--schema", str(schema), "--json")
    assert r.exit_code == 1 and json.loads(r.output)["error"]["code"] == "store.table_exists"


def test_ingest_prints_the_version_report_as_json(cli_home, tmp_path):
    from pubdata.standards import uscc_with_check

    entry_of_a_new_department("QD-T-2")
    schema = tmp_path / "schema.json"
    schema.write_text(
        json.dumps(
            {
                "fields": [
                    {"name": "uscc", "type": "string", "semanticType": "uscc"},
                    {"name": "n", "type": "integer"},
                ],
                "primaryKey": "uscc",
            }
        )
    )
    rid = run("resource", "create", "QD-T-2", "表", "--schema", str(schema)).output.strip()
    csv = tmp_path / "data.csv"
    csv.write_text("uscc,n\n" + "".join(f"{uscc_with_check(f'91370200MA{i:07d}')},{i}\n" for i in range(40)))
    r = run("ingest", rid, str(csv), "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output.splitlines()[-1])
    assert (out["version"], out["rows_loaded"], out["rows_rejected"]) == (1, 40, 0)
    assert set(out) >= {"version", "rows_loaded", "rows_rejected", "quality", "rejects_file"}
    assert 0 <= out["quality"]["score"] <= 100
    csv.write_text("uscc,wrong\n1,2\n")
    r = run("ingest", rid, str(csv), "--json")
    assert r.exit_code == 1 and "wrong" in json.loads(r.output)["error"]["message"]


def test_ingest_into_a_resource_without_a_table_says_how_to_create_one(cli_home, tmp_path):
    from pubdata.authz import SYSTEM
    from pubdata.catalog import service as catalog
    from pubdata.db import session_scope

    entry_of_a_new_department("QD-T-4")  # a declared resource, no table yet
    with session_scope() as s:
        (resource,) = catalog.get_entry(s, SYSTEM, "QD-T-4").resources
    csv = tmp_path / "data.csv"
    csv.write_text("a\n1\n")
    r = run("ingest", resource.id, str(csv), "--json")
    assert r.exit_code == 1, r.output
    error = json.loads(r.output.splitlines()[-1])["error"]
    assert error["code"] == "store.table_not_created" and "pubdata resource create" in error["message"]


def test_commands_refuse_a_home_without_a_database(tmp_path, monkeypatch):
    """Run in the wrong directory, a command says where it looked instead of starting an empty home."""
    monkeypatch.delenv("PUBDATA_DATABASE_URL", raising=False)
    monkeypatch.delenv("PUBDATA_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    try:
        r = run("org", "create", "qd-test", "某部门", "--kind", "department")
        assert r.exit_code == 1 and str(tmp_path / "pubdata-home") in r.output and "没有数据库" in r.output
        assert not (tmp_path / "pubdata-home" / "pubdata.sqlite3").exists()
        elsewhere = tmp_path / "city"
        assert run("migrate", "--home", str(elsewhere)).exit_code == 0  # migrate (and demo) start a home
        made = run("org", "create", "qd-test", "某部门", "--kind", "department", "--home", str(elsewhere))
        assert made.exit_code == 0
    finally:
        get_engine().dispose()
        get_settings.cache_clear()
        forget_engine()


def test_python_m_lists_every_command_group():
    """``python -m pubdata.cli`` once ran before the policy and audit commands were registered."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "pubdata.cli", "--help"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    for group in ("policy", "audit", "facts", "resource", "ingest", "demo", "serve", "token", "client"):
        assert f" {group} " in out, group


def test_long_builds_print_progress_lines_to_a_log(capsys, monkeypatch):
    """Not a terminal (a log): the demo's fill reports plain lines every 5 % of the rows or 30 s."""
    from pubdata.cli import platform
    from pubdata.demo.records import FillProgress

    clock = iter(range(0, 10_000, 1))  # one second per report
    monkeypatch.setattr(platform.time, "monotonic", lambda: float(next(clock)))
    report = platform.progress_lines("生成数据记录")
    for done in range(0, 1001, 10):  # 1 % steps
        report(FillProgress(done // 100, 10, done, 1000, "x", "写入"))
    report(FillProgress(10, 10, 1000, 1000, "x", "完成"))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "生成数据记录：0%，0/1,000 行，目录 0/10" and lines[-1].startswith("生成数据记录：100%")
    assert 20 <= len(lines) <= 23  # every 5 %, and once at the end

    slow = platform.progress_lines("载入", every_percent=50)
    for _ in range(95):  # no progress for 95 s: a line every 30 s still says it is alive
        slow(FillProgress(0, 10, 1, 1000, "x", "写入"))
    assert len(capsys.readouterr().out.splitlines()) == 4
