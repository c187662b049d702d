"""Matching over the demo city (the source entries only, at a small size): the demo enterprise user
gets its notices, and the ``pubdata policy match`` command and the demo's matching step."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from pubdata.authz import SYSTEM
from pubdata.cli import app as cli_app
from pubdata.cli import base
from pubdata.cli import platform as cli
from pubdata.db import forget_engine, get_engine, session_scope
from pubdata.demo import city, records
from pubdata.enterprise import service as enterprise
from pubdata.enterprise.facts import SOURCES
from pubdata.identity import service as identity
from pubdata.policy.matching import match, notices, reach
from pubdata.settings import get_settings
from tests.conftest import fresh_engine

PACK = "qingdao-cbec-2023"


@dataclass
class Demo:
    engine: Engine
    home: Path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("policy-demo")
    engine = fresh_engine(root, name="policy_demo")
    with session_scope(engine) as session:
        city.build(session, seed=city.DEFAULT_SEED, progress=lambda _msg: None)
    home = root / "home"
    codes = {s.entry_code for s in SOURCES.values()}
    records.fill(lambda: session_scope(engine), home=home, seed=city.DEFAULT_SEED, records=20_000, only=codes)
    with session_scope(engine) as session:
        enterprise.build_facts(session, SYSTEM, home=home)
    yield Demo(engine, home)
    engine.dispose()


def test_the_demo_enterprise_user_gets_its_notices(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBDATA_HOME", str(demo.home))
    monkeypatch.setenv("PUBDATA_DATABASE_URL", demo.engine.url.render_as_string(hide_password=False))
    runner = CliRunner()
    try:
        r = runner.invoke(cli_app, ["policy", "match", PACK, "--json"])
        assert r.exit_code == 0, r.output
        run = json.loads(r.stdout)
        assert run["pack_id"] == PACK and run["reused"] is False and run["eligible"] > 0
        assert run["newly_eligible"] > 0 and run["enterprises"] >= 300
        assert "计算 5 个条款" in r.stderr  # the progress lines go to stderr
        r = runner.invoke(cli_app, ["policy", "match"])
        assert r.exit_code == 0 and "沿用已有结果" in r.stdout
        r = runner.invoke(cli_app, ["policy", "match", "no-such-pack", "--json"])
        assert r.exit_code == 2 and json.loads(r.stdout)["error"]["code"] == "policy.pack_not_found"
    finally:
        get_engine().dispose()
        get_settings.cache_clear()
        forget_engine()

    with session_scope(demo.engine) as session:
        user = identity.actor_for(identity.get_user(session, "enterprise"), via="session")
        inbox = notices.list_notices(session, user)
        by_clause = {n.clause_id: n for n in inbox}
        # 海岸线: a site with 4400万 exports and 320万 invested, a 2022 provincial key platform
        assert by_clause["independent_site"].amount == 100_000
        assert "key_platform" in by_clause
        assert notices.unread_count(session, user) == len(inbox)
        mine = reach.my_matches(session, user)
        assert {m.clause_id for m in mine if m.eligible} >= {"independent_site", "key_platform"}
        assert match.latest_run(session, PACK) is not None


def test_the_demo_command_matches_after_the_facts(
    demo: Demo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PUBDATA_HOME", str(demo.home))
    monkeypatch.setenv("PUBDATA_DATABASE_URL", demo.engine.url.render_as_string(hide_password=False))
    base.use_home(None)
    try:
        cli._demo_match(demo.home)
        assert f"政策匹配就绪：{PACK}" in capsys.readouterr().out
    finally:
        get_engine().dispose()
        get_settings.cache_clear()
        forget_engine()
