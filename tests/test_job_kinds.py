"""Every long job of the platform through its one queue (``pubdata.jobs``), against a committed
database (SQLite, or PostgreSQL when PUBDATA_TEST_DATABASE_URL is set): each kind runs as a queued
job and a second run changes nothing twice; an interrupted job is retried and does its work once;
a job that keeps crashing is dead after its attempts, listed for the operator and re-queued by
them (audited, operator only); schedulers in two processes queue a key once."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from pubdata import backup as platform_backup
from pubdata import workers  # noqa: F401 - registers every kind
from pubdata.audit.models import AuditRecord
from pubdata.db import session_scope
from pubdata.enterprise import service as enterprise
from pubdata.errors import Forbidden
from pubdata.finance.models import FinanceScoreRun
from pubdata.jobs import queue, registry, runner, service
from pubdata.jobs.models import Job
from pubdata.market import tasks as market_tasks
from pubdata.market.models import MarketSettlementRun
from pubdata.policy.models import PolicyMatchRun
from tests import builders
from tests.conftest import fresh_engine

RETRY = queue.Retry(max_attempts=2, seconds=0)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    engine = fresh_engine(tmp_path, name="job_kinds")
    yield engine, tmp_path / "home"
    engine.dispose()


def run_queued(engine: Engine, home: Path, kind: str, **kwargs: object) -> Job:
    """Queue a job, claim it as a worker would and run it to its end."""
    with session_scope(engine) as s:
        job_id, new = queue.enqueue(s, kind, **kwargs)  # type: ignore[arg-type]
    assert new
    assert queue.claim(engine, "worker-a", 5) == [job_id]
    runner.run_job(engine, job_id, home=home, retry=RETRY)
    with session_scope(engine) as s:
        job = s.get(Job, job_id)
        assert job is not None
        s.expunge(job)
    return job


def redeliver(engine: Engine, home: Path, job_id: str) -> Job:
    """The same job run once more, as if a worker got it a second time."""
    with session_scope(engine) as s:
        job = s.get(Job, job_id)
        assert job is not None
        job.state, job.worker, job.active_key = "running", "worker-b", job.key
    runner.run_job(engine, job_id, home=home, retry=RETRY)
    with session_scope(engine) as s:
        again = s.get(Job, job_id)
        assert again is not None
        s.expunge(again)
    return again


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_facts_build_runs_as_a_job_and_reuses_the_version_the_second_time(world):
    from tests.enterprise.mini_city import build_city

    engine, home = world
    with session_scope(engine) as s:
        build_city(s, home, home.parent)
    first = run_queued(engine, home, "facts.build", key="facts")
    assert first.state == "succeeded" and first.result == {"version": 1, "built": True, "year": first.result["year"]}
    assert first.active_key is None and first.percent == 100
    second = run_queued(engine, home, "facts.build", key="facts")  # the key is free again
    assert second.state == "succeeded" and second.result["built"] is False and second.result["version"] == 1
    assert redeliver(engine, home, first.id).result["built"] is False
    with session_scope(engine) as s:
        assert enterprise.current_version(s).number == 1  # type: ignore[union-attr]


def test_scoring_and_matching_run_as_jobs_once_per_facts_version(world):
    from tests.finance.builders import publish_facts as publish_finance
    from tests.finance.test_scoring import ROWS
    from tests.policy.facts_builder import PACK
    from tests.policy.facts_builder import publish_facts as publish_policy
    from tests.policy.test_match_follow import SITE

    engine, home = world
    with session_scope(engine) as s:
        publish_finance(s, home, ROWS)
    scored = run_queued(engine, home, "credit.score", params={"model": "expert"}, key="score:expert")
    assert scored.state == "succeeded" and scored.result["reused"] is False and scored.rows_so_far == 3
    again = redeliver(engine, home, scored.id)
    assert again.state == "succeeded" and again.result["reused"] is True and again.result["run"] == scored.result["run"]
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(FinanceScoreRun)) == 1

    with session_scope(engine) as s:
        publish_policy(s, home, [SITE])
    matched = run_queued(engine, home, "policy.match", key="match:all")
    (run,) = matched.result["runs"]
    assert matched.state == "succeeded" and run["pack_id"] == PACK and run["newly_eligible"] == 1
    assert redeliver(engine, home, matched.id).result == {"runs": []}  # nothing stale any more
    one = run_queued(engine, home, "policy.match", params={"pack_id": PACK}, key=f"match:{PACK}")
    assert one.result["runs"] == [{**run, "reused": True}]  # the same run, reused: no second notice
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(PolicyMatchRun).where(PolicyMatchRun.state == "done")) == 1


def test_settlement_runs_once_a_month_however_often_its_job_runs(world):
    engine, home = world
    month = market_tasks.previous_month()
    settled = run_queued(engine, home, "market.settle", params={"month": month}, key=f"settle:{month}")
    assert settled.state == "succeeded" and settled.result["month"] == month and "run" in settled.result
    assert redeliver(engine, home, settled.id).result == {"month": month, "already_settled": True}
    assert market_tasks.schedule_settlement(engine) is None  # settled: nothing to queue
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(MarketSettlementRun)) == 1
    wrong = run_queued(engine, home, "market.settle", params={"month": "2026-13"})  # a domain error: failed
    assert wrong.state == "failed" and wrong.attempts == 0 and wrong.error["code"] == "market.invalid_settlement"


def test_a_queued_backup_writes_its_archive_under_the_home_once(world):
    engine, home = world
    home.mkdir(parents=True, exist_ok=True)
    done = run_queued(engine, home, "backup")
    target = platform_backup.queued_target(home, done.id)
    assert done.state == "succeeded" and target.is_file() and done.result["path"] == str(target)
    size = target.stat().st_size
    assert redeliver(engine, home, done.id).result["reused"] is True
    assert target.stat().st_size == size and len(list(target.parent.iterdir())) == 1
    assert "backups" not in {p.relative_to(home).parts[0] for p in platform_backup._home_files(home)}


def test_an_interrupted_settlement_is_retried_and_settles_once(world):
    engine, home = world
    month = market_tasks.previous_month()
    job_id = market_tasks.schedule_settlement(engine)
    assert job_id is not None and market_tasks.schedule_settlement(engine) == job_id  # deduplicated
    host = queue.worker_name().split(":")[0]
    assert queue.claim(engine, f"{host}:{_dead_pid()}:x", 1) == [job_id]  # its worker then died
    assert queue.recover_interrupted(engine, home, stale_seconds=120, message="进程退出", retry=RETRY) == {
        job_id: "queued"
    }
    assert queue.claim(engine, "worker-b", 1) == [job_id]
    assert runner.run_job(engine, job_id, home=home, retry=RETRY) == "succeeded"
    with session_scope(engine) as s:
        job = s.get(Job, job_id)
        assert job is not None and job.attempts == 1 and job.error is None and job.result["month"] == month
        assert s.scalar(select(func.count()).select_from(MarketSettlementRun)) == 1


CRASHES = {"left": 0}


def _crashing(ctx: registry.Context) -> registry.Outcome:
    if CRASHES["left"] > 0:
        CRASHES["left"] -= 1
        raise RuntimeError("the database went away")
    ctx.progress("完成", 100, None)
    return registry.Outcome({"ran": ctx.params["n"]})


registry.register(registry.Handler(kind="test.crash", title="测试", run=_crashing))


def test_a_crashing_job_backs_off_is_dead_after_its_attempts_and_the_operator_requeues_it(world):
    engine, home = world
    CRASHES["left"] = 2
    with session_scope(engine) as s:
        org = builders.make_org(s, "operator")
        operator = builders.actor_of(builders.make_user(s, org, roles=["operator"]))
        department = builders.actor_of(builders.make_user(s, builders.make_org(s, "department"), roles=["department"]))
    crashed = run_queued(engine, home, "test.crash", params={"n": 7}, key="crash")
    assert crashed.state == "queued" and crashed.attempts == 1 and crashed.error["code"] == "jobs.crashed"
    assert crashed.not_before is not None and crashed.active_key == "crash"  # still holds its key
    assert queue.claim(engine, "worker-a", 5) == [crashed.id]
    assert runner.run_job(engine, crashed.id, home=home, retry=RETRY) == "dead"
    with session_scope(engine) as s:
        (dead,) = service.list_jobs(s, operator, state="dead")
        assert dead.id == crashed.id and dead.attempts == 2 and dead.error["code"] == "jobs.dead"
        with pytest.raises(Forbidden):
            service.list_jobs(s, department, state="dead")
        with pytest.raises(Forbidden):
            service.requeue(s, department, crashed.id, home=home)
        assert service.requeue(s, operator, crashed.id, home=home).state == "queued"
        with pytest.raises(queue.JobNotRequeueable):
            service.requeue(s, operator, crashed.id, home=home)  # queued already
    assert queue.claim(engine, "worker-a", 5) == [crashed.id]
    assert runner.run_job(engine, crashed.id, home=home, retry=RETRY) == "succeeded"
    with session_scope(engine) as s:
        job = s.get(Job, crashed.id)
        assert job is not None and job.result == {"ran": 7} and job.attempts == 0
        audited = s.scalars(
            select(AuditRecord).order_by(AuditRecord.seq).where(AuditRecord.action == "jobs.requeue")
        ).all()
        assert [r.details["job_id"] for r in audited] == [crashed.id]


def test_two_schedulers_queue_a_key_once(world):
    engine, _home = world
    barrier = threading.Barrier(4)
    ids: list[str] = []

    def schedule() -> None:
        barrier.wait()
        params = {"month": "2020-01"}
        job_id, _new = queue.enqueue_committed(engine, "market.settle", params=params, key="settle:2020-01")
        ids.append(job_id)

    threads = [threading.Thread(target=schedule) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Job).where(Job.key == "settle:2020-01")) == 1
    assert len(set(ids)) == 1


def test_a_scheduler_queues_the_previous_month_only_when_it_is_over():
    assert market_tasks.previous_month(date(2026, 1, 15)) == "2025-12"
    assert market_tasks.previous_month(date(2026, 3, 1)) == "2026-02"


def test_unknown_kinds_are_refused(world):
    engine, _ = world
    with session_scope(engine) as s, pytest.raises(registry.UnknownJobKind):
        queue.enqueue(s, "no.such.kind")


def test_the_facts_refresher_only_queues_and_two_of_them_queue_one_build(world):
    from pubdata.enterprise.tasks import FactsRefresher
    from tests.enterprise.mini_city import build_city

    engine, home = world
    first, second = FactsRefresher(engine, home, 3600), FactsRefresher(engine, home, 3600)
    first.run_once()  # no registry data yet: nothing to build, nothing queued
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0
        build_city(s, home, home.parent)
    first.run_once()
    second.run_once()  # another process's scheduler (leases aside): the key holds
    with session_scope(engine) as s:
        (job,) = s.scalars(select(Job).where(Job.kind == "facts.build")).all()
        assert job.state == "queued" and job.created_via == "schedule" and enterprise.current_version(s) is None
    assert queue.claim(engine, "worker-a", 5) == [job.id]
    assert runner.run_job(engine, job.id, home=home) == "succeeded"
    first.run_once()  # current now: nothing queued
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 1


def test_migration_0029_keeps_every_store_job_row_and_its_id(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import text

    from pubdata.authz import SYSTEM
    from pubdata.db import alembic_config, migrate
    from pubdata.store import service as store
    from pubdata.store.schemas import TableCreate

    engine = fresh_engine(tmp_path, name="jobs_migration")
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0028")
    with session_scope(engine) as s:
        entry = builders.make_entry(s, title="迁移测试", organisation=builders.make_org(s, "department").code)
        schema = {"fields": [{"name": "a", "type": "string"}]}
        rid = store.create_table(s, SYSTEM, entry.code, TableCreate(name="表", schema=schema)).resource_id
    job_id = "11111111-2222-4333-8444-555555555555"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO store_job (id, kind, resource_id, state, stage, percent, bytes_received, source_name, "
                "source_path, created_via, attempts, created_at) VALUES (:id, 'ingest', :rid, 'dead', '已停止重试', "
                "0, 5, 'a.csv', '/x/a.csv', 'api', 3, :at)"
            ),
            {"id": job_id, "rid": rid, "at": "2026-12-01 00:00:00+00:00"},
        )
    migrate(engine)
    with session_scope(engine) as s:
        job = s.get(Job, job_id)
        assert job is not None and (job.kind, job.state, job.attempts) == ("ingest", "dead", 3)
        assert job.source_name == "a.csv"
        assert job.resource_id == rid and job.key is None and job.active_key is None
    engine.dispose()
