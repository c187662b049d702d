"""A server killed (SIGKILL) in the middle of bulk policy matching (SQLite, or PostgreSQL when
PUBDATA_TEST_DATABASE_URL is set): the previous run's results and notices survive exactly as they
were; matching again through a new server finishes the interrupted work once — the results of the
new facts, each newly eligible enterprise notified once — and a third request changes nothing.

The facts are benchmarks/policy_match.py's synthetic enterprises: version 1, matched; then version 2
(the same enterprises and more), whose match is killed once the server's SQL log shows the run's row
written (uncommitted), while the pass over the facts runs."""

from __future__ import annotations

import importlib.util
import shutil
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
from sqlalchemy import func, select

from pubdata.db import make_engine, migrate, session_scope
from pubdata.enterprise import files as facts_files
from pubdata.enterprise.models import EnterpriseFactsVersion
from pubdata.policy.models import PolicyMatch, PolicyMatchRun, PolicyNotice
from tests import builders
from tests.conftest import database_url
from tests.reliability.processes import serve, token_for, wait_for

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
PACK = "qingdao-cbec-2023"
STARTED = "INSERT INTO policy_match_run"


def _benchmark(name: str) -> ModuleType:
    """A benchmark script as a module (its ``common`` import resolved from benchmarks/)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCHMARKS))


def _publish_facts(engine: Any, home: Path, work: Path, number: int, enterprises: int) -> None:
    source = work / f"facts-{number}.parquet"
    _benchmark("policy_match").generate(source, enterprises)
    target = facts_files.facts_file(home, number)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, target)
    with session_scope(engine) as s:
        s.add(EnterpriseFactsVersion(number=number, year=2022, enterprises=enterprises, sources={}, built_via="test"))


def _state(engine: Any) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with session_scope(engine) as s:
        matches = s.execute(
            select(PolicyMatch.clause_id, PolicyMatch.uscc, PolicyMatch.eligible, PolicyMatch.amount).order_by(
                PolicyMatch.clause_id, PolicyMatch.uscc
            )
        ).all()
        notices = s.execute(
            select(PolicyNotice.uscc, PolicyNotice.clause_id, PolicyNotice.amount).order_by(
                PolicyNotice.uscc, PolicyNotice.clause_id, PolicyNotice.id
            )
        ).all()
    return [tuple(m) for m in matches], [tuple(n) for n in notices]


def _match(base: str, token: str, out: list[Any]) -> None:
    try:
        r = httpx.post(f"{base}/api/v1/policies/{PACK}/match", headers={"Authorization": f"Bearer {token}"},
                       timeout=300)  # fmt: skip
        out.append(r)
    except httpx.HTTPError as exc:
        out.append(exc)


def test_matching_killed_midway_keeps_the_previous_results_and_finishes_once_after(tmp_path: Path) -> None:
    home = tmp_path / "home"
    url = database_url(tmp_path, "match_kill")
    engine = make_engine(url)
    migrate(engine)
    with session_scope(engine) as s:
        operator = builders.make_user(s, builders.make_org(s, "operator"), roles=["operator"])
        username = operator.username
    token = token_for(engine, username)
    _publish_facts(engine, home, tmp_path, 1, 100_000)
    headers = {"Authorization": f"Bearer {token}"}

    with serve(home, url, tmp_path / "server1.log") as server:
        first = httpx.post(f"{server.url}/api/v1/policies/{PACK}/match", headers=headers, timeout=300)
    assert first.status_code == 200, first.text
    before = _state(engine)
    assert before[0] and before[1]  # results and notices to keep

    _publish_facts(engine, home, tmp_path, 2, 400_000)  # the same 100,000 enterprises and 300,000 more
    with serve(home, url, tmp_path / "server2.log", sql_echo="true") as server:
        answer: list[Any] = []
        request = threading.Thread(target=_match, args=(server.url, token, answer))
        request.start()
        wait_for(lambda: STARTED in server.said() or answer, 120, "the match run to start")
        server.kill()
        request.join(60)
    assert answer and isinstance(answer[0], httpx.HTTPError), f"the match ended before the kill: {answer}"
    assert _state(engine) == before  # the previous results and notices, exactly

    with serve(home, url, tmp_path / "server3.log") as server:
        again = httpx.post(f"{server.url}/api/v1/policies/{PACK}/match", headers=headers, timeout=300)
        third = httpx.post(f"{server.url}/api/v1/policies/{PACK}/match", headers=headers, timeout=300)
    assert again.status_code == 200 and third.status_code == 200, (again.text, third.text)
    run = again.json()
    assert run["facts_version"] == 2 and not run["reused"] and third.json()["reused"]
    assert third.json()["id"] == run["id"]
    matches, notices = _state(engine)
    assert len(matches) == run["eligible"] + run["undecided"]
    assert len(matches) > len(before[0])
    assert set(before[0]) <= set(matches)  # the first enterprises' facts did not change
    assert len(notices) == len(before[1]) + run["newly_eligible"] and run["newly_eligible"] > 0
    assert len(set(notices)) == len(notices)  # nobody notified twice of the same thing
    with session_scope(engine) as s:
        runs = dict(s.execute(select(PolicyMatchRun.state, func.count()).group_by(PolicyMatchRun.state)).all())
    assert runs == {"done": 2}  # the killed run left no row behind
    engine.dispose()
