"""Beyond one process (SQLite, or PostgreSQL when PUBDATA_TEST_DATABASE_URL is set): periodic work is
done by one process of a deployment at a time (leases); two real ``pubdata worker`` processes share
the job queue — every job runs once, and a worker killed with SIGKILL in the middle of a load, a
policy-matching pass or a monthly settlement has its job retried and finished by the other: the table
loaded, the pack matched and notified, the month billed and posted exactly once; and a grant's daily
call quota holds exactly across two ``pubdata serve --no-workers`` processes under concurrent load."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import httpx
from sqlalchemy import Engine, func, select

from pubdata import leases
from pubdata.access.schemas import Decision, RequestCreate
from pubdata.access.service import beijing_today
from pubdata.authz import SYSTEM
from pubdata.db import make_engine, migrate, session_scope, utcnow
from pubdata.identity import service as identity
from pubdata.leases import WorkerLease
from pubdata.periodic import Periodic
from pubdata.store import contracts, service
from pubdata.store.jobs import queue as job_queue
from pubdata.store.jobs import runner as jobs_runner
from pubdata.store.models import StoreJob, StoreVersion
from pubdata.store.schemas import TableCreate
from tests import builders
from tests.conftest import database_url
from tests.store.test_jobs import SCHEMA, csv_text, make_table, queue_file


class Counting(Periodic):
    name = "pubdata-test-periodic"

    def __init__(self, engine: Engine, interval: float) -> None:
        super().__init__(interval, lease_engine=engine)
        self.runs = 0

    def run_once(self) -> None:
        self.runs += 1


def test_a_lease_is_held_by_one_process_at_a_time_and_taken_over_when_it_lapses(tmp_path: Path) -> None:
    engine = make_engine(database_url(tmp_path, "leases"))
    migrate(engine)
    assert leases.hold(engine, "refresh", "a", 60) and leases.hold(engine, "refresh", "a", 60)  # renewed
    assert not leases.hold(engine, "refresh", "b", 60)
    with session_scope(engine) as s:  # a's process died: its lease ran out
        lease = s.get(WorkerLease, "refresh")
        assert lease is not None
        lease.expires_at = utcnow() - timedelta(seconds=1)
    assert leases.hold(engine, "refresh", "b", 60) and not leases.hold(engine, "refresh", "a", 60)
    leases.release(engine, "refresh", "b")  # b stops: a takes over at once
    assert leases.hold(engine, "refresh", "a", 60)
    leases.release(engine, "refresh", "a")

    first, second = Counting(engine, 0.05), Counting(engine, 0.05)
    first.start()
    second.start()
    time.sleep(0.8)
    first.stop()  # releases its lease if it held it
    while_both = (first.runs, second.runs)
    time.sleep(0.8)
    second.stop()
    assert min(while_both) == 0 and max(while_both) >= 3  # one process did the work, not both
    assert second.runs > while_both[1] or first.runs == 0  # after the holder stopped, the other carried on
    engine.dispose()


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "pubdata.cli", "worker"], env=env, stdout=out, stderr=out)


def _wait(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_workers_run_each_job_once_and_finish_a_killed_workers_job(tmp_path: Path) -> None:
    home = tmp_path / "home"
    url = database_url(tmp_path, "procs")
    engine = make_engine(url)
    migrate(engine)
    with session_scope(engine) as s:
        owner = builders.actor_of(builders.make_user(s, builders.make_org(s, "department"), roles=["department"]))
        tables = [make_table(s, owner) for _ in range(5)]
        big = queue_file(s, owner, tables[0], home, csv_text(300_000))  # a load that takes a while
        small = [queue_file(s, owner, rid, home, csv_text(20)) for rid in tables[1:]]
    env = _worker_env(home, url)
    log = tmp_path / "workers.log"
    first = _worker(env, log)
    try:

        def running_big() -> str | None:
            with session_scope(engine) as s:
                job = s.get(StoreJob, big)
                return job.worker if job is not None and job.state == "running" and job.percent > 0 else None

        worker = _wait(running_big, 60, "the first worker to be loading the big file")
        assert f":{first.pid}:" in worker
        first.send_signal(signal.SIGKILL)  # in the middle of the load
        first.wait(10)
        second = _worker(env, log)
        try:

            def all_done() -> bool:
                with session_scope(engine) as s:
                    states = dict(s.execute(select(StoreJob.id, StoreJob.state)).all())
                return all(states[j] in ("succeeded", "failed", "dead") for j in [big, *small])

            _wait(all_done, 120, "every job to finish")
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(30)
        assert second.returncode == 0, log.read_text(errors="replace")
    finally:
        if first.poll() is None:
            first.kill()
    with session_scope(engine) as s:
        jobs = {j.id: j for j in s.scalars(select(StoreJob))}
        assert {jobs[j].state for j in [big, *small]} == {"succeeded"}, log.read_text(errors="replace")
        assert jobs[big].attempts == 1 and f":{second.pid}:" in (jobs[big].worker or "")
        # exactly once: one version per table, the big one with all its rows
        versions = dict(
            s.execute(select(StoreVersion.resource_id, func.count()).group_by(StoreVersion.resource_id)).all()
        )
        assert versions == {rid: 1 for rid in tables}
        loaded = s.scalar(select(StoreVersion.rows_loaded).where(StoreVersion.resource_id == tables[0]))
        assert loaded == 300_000 and service.get_table(s, owner, tables[0]).current_version == 1
    engine.dispose()


def _worker_env(home: Path, url: str) -> dict[str, str]:
    """A worker process's settings: one runner polling fast, a dead worker's job taken over soon."""
    return {**os.environ, "PUBDATA_HOME": str(home), "PUBDATA_DATABASE_URL": url, "PUBDATA_JOB_WORKERS": "1",
            "PUBDATA_JOB_POLL_SECONDS": "0.2", "PUBDATA_JOB_STALE_SECONDS": "10", "PUBDATA_JOB_RETRY_SECONDS": "0",
            "PUBDATA_FACTS_REFRESH_SECONDS": "0"}  # fmt: skip


def _runner(engine: Engine, job_id: str) -> str | None:
    """The worker running the job, while it runs."""
    from pubdata.jobs.models import Job

    with session_scope(engine) as s:
        job = s.get(Job, job_id)
        return job.worker if job is not None and job.state == "running" else None


def _ended(engine: Engine, job_id: str) -> bool:
    from pubdata.jobs.models import Job

    with session_scope(engine) as s:
        return s.get(Job, job_id).state in ("succeeded", "failed", "dead")  # type: ignore[union-attr]


def _kill_mid_job(worker: subprocess.Popen[bytes], engine: Engine, job_id: str) -> None:
    """SIGKILL the worker running the job; the job must still be running (else the kill came too late)."""
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    assert _runner(engine, job_id) is not None, "the job ended before the kill: make it longer"


def _tail(log: IO[str]) -> str:
    log.seek(0)
    return log.read()[-3000:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_daily_quota_holds_across_two_server_processes_under_concurrent_load(tmp_path: Path) -> None:
    home = tmp_path / "home"
    url = database_url(tmp_path, "servers")
    engine = make_engine(url)
    migrate(engine)
    quota = 25
    with session_scope(engine) as s:
        department = builders.actor_of(builders.make_user(s, builders.make_org(s, "department"), roles=["department"]))
        operator = builders.actor_of(builders.make_user(s, builders.make_org(s, "operator"), roles=["operator"]))
        buyer = builders.actor_of(builders.make_user(s, builders.make_org(s, "enterprise"), roles=["enterprise"]))
        entry = builders.make_entry(s, department, title="市场主体登记信息", open_type="conditional")
        rid = service.create_table(s, department, entry.code, TableCreate(name="登记信息", schema=SCHEMA)).resource_id
        job = queue_file(s, department, rid, home, csv_text(5))
    assert job_queue.claim_jobs(engine, "test", 1) == [job]
    assert jobs_runner.run_job(engine, job, home=home).state == "succeeded"
    with session_scope(engine) as s:
        asked = contracts.request_access(s, buyer, rid, RequestCreate(
            scenario="信贷审批", purpose="核验借款企业的纳税信用等级，用于小微企业信用贷款审批", fields=["uscc"],
            period_start=beijing_today(), period_end=beijing_today() + timedelta(days=30), expected_rows=100,
        ))  # fmt: skip
        contracts.review_access(s, department, asked.id, Decision(action="approve"))
        contracts.review_access(s, operator, asked.id, Decision(action="approve", daily_call_quota=quota))
        _, secret = identity.create_token(s, SYSTEM, name="load", scopes=["read"], days=1, username=buyer.username)
    env = {**os.environ, "PUBDATA_HOME": str(home), "PUBDATA_DATABASE_URL": url, "PUBDATA_SEARCH_WARMUP": "false"}
    ports = [_free_port(), _free_port()]
    logs = [(tmp_path / f"server-{p}.log").open("w+") for p in ports]
    servers = [
        subprocess.Popen([sys.executable, "-m", "pubdata.cli", "serve", "--no-workers", "--host", "127.0.0.1",
                          "--port", str(p)], env=env, stdout=log, stderr=subprocess.STDOUT)
        for p, log in zip(ports, logs, strict=True)
    ]  # fmt: skip
    try:
        for p in ports:
            _wait(lambda p=p: _answers(f"http://127.0.0.1:{p}/api/v1/"), 60, f"the server on port {p}")
        headers = {"Authorization": f"Bearer {secret}"}

        def call(n: int) -> int:
            target = f"http://127.0.0.1:{ports[n % 2]}/api/v1/resources/{rid}/rows?limit=1"
            return httpx.get(target, headers=headers, timeout=30).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(call, range(3 * quota)))
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
        for server in servers:
            server.wait(30)
    told = [_tail(log) for log in logs]  # what the servers said, should anything go wrong
    assert codes.count(200) == quota and codes.count(429) == 2 * quota, (sorted(set(codes)), told)
    engine.dispose()


def _answers(address: str) -> bool:
    try:
        return httpx.get(address, timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


def test_a_worker_killed_mid_matching_has_the_job_finished_by_another_and_nothing_doubled(tmp_path: Path) -> None:
    """Policy matching as a queued job (``policy.match``): the first worker is killed with SIGKILL
    while it matches; the second retries the job, and there is one run with one notice per newly
    eligible enterprise — as if it had run once."""
    from pubdata.jobs import queue as platform_queue
    from pubdata.jobs.models import Job
    from pubdata.policy.models import PolicyMatch, PolicyMatchRun, PolicyNotice
    from tests.policy.facts_builder import PACK, code, publish_facts
    from tests.policy.test_match_follow import SITE

    home = tmp_path / "home"
    url = database_url(tmp_path, "match_procs")
    engine = make_engine(url)
    migrate(engine)
    enterprises = 60_000
    with session_scope(engine) as s:
        publish_facts(s, home, [{**SITE, "uscc": code(n)} for n in range(enterprises)])
        job_id, _ = platform_queue.enqueue(s, "policy.match", params={"pack_id": PACK}, key="match-test")
    env = _worker_env(home, url)
    log = tmp_path / "workers.log"
    first = _worker(env, log)
    try:
        assert f":{first.pid}:" in _wait(lambda: _runner(engine, job_id), 120, "the first worker to be matching")
        _kill_mid_job(first, engine, job_id)  # in the middle of the pass
        with session_scope(engine) as s:
            assert s.scalar(select(func.count()).select_from(PolicyMatchRun).where(PolicyMatchRun.state == "done")) == 0
        second = _worker(env, log)
        try:
            _wait(lambda: _ended(engine, job_id), 300, "the job to finish")
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
    with session_scope(engine) as s:
        job = s.get(Job, job_id)
        assert job is not None and job.state == "succeeded", (
            job.error if job else None,
            log.read_text(errors="replace"),
        )
        assert job.attempts == 1 and f":{second.pid}:" in (job.worker or "")
        (run,) = s.scalars(select(PolicyMatchRun).where(PolicyMatchRun.state == "done")).all()
        assert run.id == job.result["runs"][0]["run"]
        assert s.scalar(select(func.count()).select_from(PolicyMatch)) == enterprises
        notices = s.scalar(select(func.count()).select_from(PolicyNotice))
        assert notices == job.result["runs"][0]["newly_eligible"] == enterprises
    engine.dispose()


def test_a_worker_killed_mid_settlement_has_the_job_finished_by_another_and_nothing_doubled(tmp_path: Path) -> None:
    """The monthly settlement as a queued job (``market.settle``) over benchmarks/settlement.py's world
    (20,000 metered entitlements, a month of 100,000 calls; tests/reliability/settlement_world.py):
    the first worker is killed with SIGKILL once its SQL log shows the month's usage bills written
    (uncommitted) — nothing of the month is kept; the second retries the job and the month is settled
    once: one run, one bill per entitlement, every call billed once, each ledger entry once, the ledger
    balanced; and the month queued again is a no-op."""
    from pubdata.audit import service as audit
    from pubdata.jobs import queue as platform_queue
    from pubdata.jobs.models import Job
    from pubdata.ledger import service as ledger
    from pubdata.ledger.models import LedgerEntry, LedgerLine
    from pubdata.market.models import MarketBill, MarketProduct, MarketSettlementRun, MarketSettlementShare
    from pubdata.market.orders import month_bounds
    from pubdata.market.tasks import KIND
    from tests.reliability.test_settlement_kill import _world

    home, url, world = _world(tmp_path, "settle_procs", entitlements=20_000, calls=100_000)
    month, grants = world["month"], world["grants"]
    engine = make_engine(url)

    def written() -> tuple[int | None, ...]:
        """Rows of every table a settlement writes to."""
        tables = (MarketSettlementRun, MarketBill, MarketSettlementShare, LedgerEntry, LedgerLine)
        with session_scope(engine) as s:
            return tuple(s.scalar(select(func.count()).select_from(t)) for t in tables)

    def settle() -> str:
        with session_scope(engine) as s:
            params = {"month": month}
            return platform_queue.enqueue(s, KIND, params=params, key=platform_queue.key_for(KIND, params))[0]

    before = written()
    job_id = settle()
    env = _worker_env(home, url)
    echo, log = tmp_path / "first.log", tmp_path / "workers.log"
    first = _worker({**env, "PUBDATA_SQL_ECHO": "true", "PYTHONUNBUFFERED": "1"}, echo)  # its SQL, as it runs
    try:

        def billing() -> str | None:
            return _runner(engine, job_id) if "INSERT INTO market_bill" in echo.read_text(errors="replace") else None

        assert f":{first.pid}:" in _wait(billing, 120, "the first worker to be writing the month's bills")
        _kill_mid_job(first, engine, job_id)  # in the middle of the settlement
        with session_scope(engine) as s:
            assert ledger.check_balanced(s) == 0 and ledger.unbalanced_entries(s) == []
        assert written() == before  # no run, no bill, no share, no ledger entry of the month
        second = _worker(env, log)
        try:
            _wait(lambda: _ended(engine, job_id), 300, "the job to finish")
            settled = written()
            again = settle()  # the month queued again: a no-op
            _wait(lambda: _ended(engine, again), 120, "the second job to finish")
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
    with log.open(errors="replace") as said:
        told = _tail(said)
    with session_scope(engine) as s:
        job, repeat = s.get(Job, job_id), s.get(Job, again)
        assert job is not None and job.state == "succeeded", (job.error if job else None, told)
        assert job.attempts == 1 and f":{second.pid}:" in (job.worker or "")  # one interrupted run, then done
        assert repeat is not None and repeat.state == "succeeded", (repeat.error if repeat else None, told)
        assert repeat.result == {"month": month, "already_settled": True} and written() == settled
        (run,) = s.scalars(select(MarketSettlementRun)).all()
        assert run.month == month and job.result == {
            "month": month, "run": run.id, "gross_fen": run.gross_fen, "usage_bills": len(grants)
        }  # fmt: skip
        bills = s.execute(
            select(MarketBill.entitlement_id, MarketBill.calls, MarketBill.settlement_run_id).where(
                MarketBill.month == month
            )
        ).all()
        assert len(bills) == len({b.entitlement_id for b in bills}) == len(grants) == run.usage_bills
        assert {b.settlement_run_id for b in bills} == {run.id}
        used = audit.grant_usage(s, grants, *month_bounds(month))
        assert sum(b.calls for b in bills) == sum(calls for calls, _ in used.values()) > 0
        shares = s.execute(
            select(MarketSettlementShare.product_id, MarketSettlementShare.amount_fen).where(
                MarketSettlementShare.run_id == run.id
            )
        ).all()
        assert sum(amount for _, amount in shares) == run.gross_fen > 0
        products = s.scalars(select(MarketProduct.code).where(MarketProduct.id.in_({p for p, _ in shares})))
        references = s.scalars(select(LedgerEntry.reference).where(LedgerEntry.reference.like(f"settlement:{month}:%")))
        assert sorted(references) == sorted(f"settlement:{month}:{code}" for code in products)  # each once
        assert ledger.check_balanced(s) == 0 and ledger.unbalanced_entries(s) == []
    engine.dispose()
