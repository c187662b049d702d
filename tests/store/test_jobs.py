"""Ingest jobs: queuing, running as the uploader, progress, outcome, visibility, the runner's atomic
claims and its recovery of jobs a dead process left running."""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pubdata.authz import SYSTEM, Actor
from pubdata.catalog.errors import NotEntryOwner
from pubdata.db import session_scope, utcnow
from pubdata.errors import Forbidden, Unauthenticated
from pubdata.identity import service as identity
from pubdata.jobs import service as job_service
from pubdata.standards import uscc_with_check
from pubdata.store import service
from pubdata.store.jobs import queue as jobs
from pubdata.store.jobs import runner as job_runner
from pubdata.store.models import StoreJob, StoreVersion
from pubdata.store.schemas import TableCreate
from tests import builders
from tests.conftest import fresh_engine
from tests.test_cli import cli_home  # noqa: F401 - fixture used by the command-line tests

SCHEMA = {
    "fields": [
        {"name": "uscc", "type": "string", "semanticType": "uscc", "constraints": {"required": True}},
        {"name": "name", "type": "string", "title": "企业名称"},
        {"name": "capital", "type": "number", "semanticType": "amount"},
    ],
    "primaryKey": "uscc",
}
HEADER = "uscc,name,capital"


def csv_text(n: int, bad: int = 0) -> str:
    """``n`` valid rows of SCHEMA, then ``bad`` rows with a wrong check character."""
    lines = [HEADER]
    lines += [f"{uscc_with_check(f'91370200MA{i:07d}')},青岛企业{i},{i}.50" for i in range(n)]
    lines += [f"9137020{i % 10}MA{i:07d}X,坏企业{i},1" for i in range(bad)]
    return "\n".join(lines) + "\n"


def make_table(session: Session, actor: Actor) -> str:
    """An entry of the actor's department with one table of SCHEMA; returns the resource id."""
    entry = builders.make_entry(session, actor, title="市场主体登记信息")
    return service.create_table(session, actor, entry.code, TableCreate(name="登记信息", schema=SCHEMA)).resource_id


def queue_file(session: Session, actor: Actor, rid: str, home: Path, text: str, name: str = "data.csv") -> str:
    """What the upload API does: reserve the upload, write the file there, queue the job."""
    upload = jobs.begin_upload(session, actor, rid, home)
    path = upload.directory / ("source" + Path(name).suffix)
    path.write_text(text, encoding="utf-8")
    return jobs.queue_ingest(session, actor, upload, path=path, source_name=name, via="api").id


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def dept_table(session, as_actor):
    dept = as_actor("department")
    return dept, make_table(session, dept)


# --- in the test's transaction ---------------------------------------------------------------


def test_a_queued_upload_runs_as_the_uploader_and_publishes_a_version(session, dept_table, home):
    dept, rid = dept_table
    job_id = queue_file(session, dept, rid, home, csv_text(30))
    queued = jobs.get_job(session, dept, job_id)
    assert (queued.state, queued.stage, queued.created_by, queued.source_name) == (
        "queued",
        "排队中",
        dept.username,
        "data.csv",
    )
    assert queued.bytes_received == len(csv_text(30).encode())
    assert jobs.upload_dir(home, job_id).is_dir()

    done = job_runner.run_job_inline(session, job_id, home=home)

    assert (done.state, done.percent, done.stage, done.error) == ("succeeded", 100, "完成", None)
    assert done.result is not None
    assert (done.result["version"], done.result["state"], done.result["rows_loaded"]) == (1, "published", 30)
    assert done.rows_so_far == 30 and done.finished_at is not None
    assert service.get_table(session, dept, rid).current_version == 1
    version = session.scalars(select(StoreVersion).where(StoreVersion.resource_id == rid)).one()
    assert version.created_by == dept.user_id and version.source_name == "data.csv"
    assert not jobs.upload_dir(home, job_id).exists()  # the uploaded file is removed when the job ends


def test_a_file_the_loader_refuses_fails_the_job_with_its_message_and_publishes_nothing(session, dept_table, home):
    dept, rid = dept_table
    job_id = queue_file(session, dept, rid, home, "uscc,name\n1,2\n")
    done = job_runner.run_job_inline(session, job_id, home=home)
    assert done.state == "failed" and done.result is None
    assert done.error is not None and done.error["code"] == "store.invalid_source"
    assert "缺少字段 capital" in done.error["message"]
    assert session.scalars(select(StoreVersion).where(StoreVersion.resource_id == rid)).first() is None
    assert service.get_table(session, dept, rid).current_version is None
    assert not jobs.upload_dir(home, job_id).exists()


def test_a_refused_version_is_a_finished_job_whose_result_says_refused(session, dept_table, home):
    dept, rid = dept_table
    done = job_runner.run_job_inline(session, queue_file(session, dept, rid, home, csv_text(10, bad=5)), home=home)
    assert done.state == "succeeded"
    assert done.result is not None and done.result["state"] == "refused"
    assert (done.result["rows_loaded"], done.result["rows_rejected"]) == (0, 5)
    assert service.get_table(session, dept, rid).current_version is None


def test_a_job_runs_with_the_uploaders_current_rights(session, dept_table, home):
    dept, rid = dept_table
    job_id = queue_file(session, dept, rid, home, csv_text(5))
    user = identity.get_user(session, dept.username)
    user.is_active = False
    session.flush()
    done = job_runner.run_job_inline(session, job_id, home=home)
    assert done.state == "failed" and done.error is not None
    assert done.error["code"] == "store.job_creator_inactive"


def test_only_the_entrys_department_or_the_operator_may_upload(session, dept_table, as_actor, home):
    _, rid = dept_table
    with pytest.raises(NotEntryOwner):
        jobs.begin_upload(session, as_actor("department"), rid, home)
    with pytest.raises(Forbidden):
        jobs.begin_upload(session, as_actor("enterprise"), rid, home)
    with pytest.raises(Unauthenticated):
        jobs.begin_upload(session, as_actor("anonymous"), rid, home)
    assert not jobs.uploads_root(home).exists() or not any(jobs.uploads_root(home).iterdir())
    upload = jobs.begin_upload(session, as_actor("operator"), rid, home)
    assert upload.directory.is_dir()


def test_a_job_is_seen_by_its_creator_the_department_and_the_operator_only(session, dept_table, as_actor, home):
    dept, rid = dept_table
    operator = as_actor("operator")
    job_id = queue_file(session, operator, rid, home, csv_text(3))
    for actor in (operator, dept, as_actor("admin"), SYSTEM):
        assert jobs.get_job(session, actor, job_id).id == job_id
    for actor in (as_actor("department"), as_actor("enterprise"), as_actor("anonymous")):
        with pytest.raises(jobs.JobNotFound):
            jobs.get_job(session, actor, job_id)
    with pytest.raises(jobs.JobNotFound):
        jobs.get_job(session, dept, str(uuid.uuid4()))
    assert [j.id for j in jobs.list_jobs(session, dept, rid)] == [job_id]
    with pytest.raises(NotEntryOwner):
        jobs.list_jobs(session, as_actor("department"), rid)


def test_upload_names_are_cleaned_and_unsupported_formats_refused():
    assert jobs.clean_source_name("C:\\导出\\企业名录.csv") == "企业名录.csv"
    assert jobs.clean_source_name("../../etc/passwd.csv") == "passwd.csv"
    assert jobs.source_suffix("企业名录.CSV") == ".csv"
    with pytest.raises(jobs.InvalidUpload) as exc:
        jobs.source_suffix("报告.docx")
    assert ".docx" in exc.value.message and ".csv" in exc.value.message
    with pytest.raises(jobs.InvalidUpload):
        jobs.clean_source_name("../")
    with pytest.raises(ValueError):
        jobs.upload_dir(Path("/tmp"), "../x")


def test_foreground_jobs_check_the_file_before_they_start(session, dept_table, tmp_path):
    _, rid = dept_table
    with pytest.raises(jobs.InvalidUpload) as exc:
        jobs.start_foreground_ingest(session, SYSTEM, rid, tmp_path / "missing.csv", worker="w")
    assert "文件不存在" in exc.value.message
    assert session.scalars(select(StoreJob)).first() is None


# --- committed, with the runner's own threads and sessions -------------------------------------


@pytest.fixture
def committed(tmp_path: Path) -> Iterator[tuple[Engine, Actor, str, Path]]:
    """A database of its own with committed data: a department user and its table."""
    engine = fresh_engine(tmp_path, name=f"jobs_{uuid.uuid4().hex[:8]}")
    with session_scope(engine) as s:
        org = builders.make_org(s, "department")
        actor = builders.actor_of(builders.make_user(s, org, roles=["department"]))
        rid = make_table(s, actor)
    yield engine, actor, rid, tmp_path / "home"
    engine.dispose()


def wait_for(engine: Engine, job_id: str, states: tuple[str, ...] = ("succeeded", "failed")) -> StoreJob:
    deadline = time.monotonic() + 60
    while True:
        with session_scope(engine) as s:
            job = s.get(StoreJob, job_id)
            assert job is not None
            if job.state in states:
                s.expunge(job)
                return job
        assert time.monotonic() < deadline, f"job {job_id} still {job.state}"
        time.sleep(0.05)


def test_the_runner_runs_queued_jobs_in_the_background(committed):
    engine, actor, rid, home = committed
    with session_scope(engine) as s:
        first = queue_file(s, actor, rid, home, csv_text(20))
        second = queue_file(s, actor, rid, home, "uscc\n1\n")
    runner = job_runner.JobRunner(engine, home, workers=1, poll_seconds=0.05)
    runner.start()
    try:
        ok, bad = wait_for(engine, first), wait_for(engine, second)
    finally:
        runner.stop()
    assert ok.state == "succeeded" and ok.result is not None and ok.result["rows_loaded"] == 20
    assert ok.worker == runner.worker
    assert bad.state == "failed" and bad.error is not None and "缺少字段" in bad.error["message"]
    with session_scope(engine) as s:
        assert service.get_table(s, actor, rid).current_version == 1
    assert not any(jobs.uploads_root(home).iterdir())


def test_progress_is_visible_to_others_while_the_job_runs(committed):
    engine, actor, rid, home = committed
    with session_scope(engine) as s:
        job = jobs.start_foreground_ingest(s, SYSTEM, rid, _file(home, csv_text(50)), worker=jobs.worker_name())
    seen: list[tuple[str, int, int | None]] = []

    def look_while_running(stage: str, percent: int, rows: int | None) -> None:
        if stage != "写入":
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # another session sees the progress the job reported
            with session_scope(engine) as s:
                row = s.get(StoreJob, job.id)
                assert row is not None
                if row.percent >= 40:
                    seen.append((row.stage, row.percent, row.rows_so_far))
                    return
            time.sleep(0.05)

    done = job_runner.run_job(engine, job.id, home=home, on_progress=look_while_running)
    assert done.state == "succeeded" and done.created_via == "cli" and done.created_by is None
    assert seen and seen[0][1] >= 40 and seen[0][2] == 50
    assert seen[0][0] in ("校验", "写入")


def _file(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / f"in-{uuid.uuid4().hex[:6]}.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_several_runners_claim_each_job_exactly_once(committed):
    engine, actor, rid, home = committed
    with session_scope(engine) as s:
        tables = [rid, *(make_table(s, actor) for _ in range(11))]
        ids = {queue_file(s, actor, table, home, csv_text(2)) for table in tables}
    claims: list[list[str]] = []
    barrier = threading.Barrier(4)

    def claim(n: int) -> None:
        barrier.wait()
        got: list[str] = []
        while batch := jobs.claim_jobs(engine, f"worker-{n}", 2):
            got += batch
        claims.append(got)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [job_id for got in claims for job_id in got]
    assert sorted(everything) == sorted(ids)  # every job claimed, none twice
    with session_scope(engine) as s:
        assert {j.state for j in s.scalars(select(StoreJob))} == {"running"}


def test_one_load_of_a_resource_runs_at_a_time(committed):
    engine, actor, rid, home = committed
    with session_scope(engine) as s:
        other_rid = make_table(s, actor)
        first, second = (queue_file(s, actor, rid, home, csv_text(2)) for _ in range(2))
        third = queue_file(s, actor, other_rid, home, csv_text(2))
    assert jobs.claim_jobs(engine, "w1", 3) == [first, third]  # the second waits for the first
    assert jobs.claim_jobs(engine, "w2", 3) == []
    assert job_runner.run_job(engine, first, home=home).state == "succeeded"
    assert jobs.claim_jobs(engine, "w2", 3) == [second]
    with session_scope(engine) as s:  # the command line is refused while a load of the resource runs
        with pytest.raises(jobs.JobConflict) as exc:
            jobs.start_foreground_ingest(s, SYSTEM, rid, _file(home, csv_text(1)), worker="cli")
        assert second in exc.value.message
    done = job_runner.run_job(engine, second, home=home)
    assert done.result is not None and done.result["version"] == 2


def test_a_foreground_load_fails_a_running_job_whose_process_is_gone(committed):
    engine, _, rid, home = committed
    host = jobs.worker_name().split(":")[0]
    with session_scope(engine) as s:
        dead = jobs.start_foreground_ingest(s, SYSTEM, rid, _file(home, csv_text(1)), worker=f"{host}:{_dead_pid()}:x")
    with session_scope(engine) as s:
        fresh = jobs.start_foreground_ingest(s, SYSTEM, rid, _file(home, csv_text(3)), worker=jobs.worker_name())
    with session_scope(engine) as s:
        gone = s.get(StoreJob, dead.id)
        assert gone is not None and gone.state == "failed"
        assert gone.error is not None and gone.error["code"] == "store.job_interrupted"
    done = job_runner.run_job(engine, fresh.id, home=home)
    assert done.result is not None and (done.result["version"], done.result["rows_loaded"]) == (1, 3)


def test_on_start_jobs_left_running_by_a_dead_process_are_retried_later_and_queued_ones_run(committed):
    engine, actor, rid, home = committed
    dead_pid = _dead_pid()
    host = jobs.worker_name().split(":")[0]
    with session_scope(engine) as s:
        crashed = queue_file(s, actor, rid, home, csv_text(2))
        silent = queue_file(s, actor, rid, home, csv_text(2))
        alive = queue_file(s, actor, make_table(s, actor), home, csv_text(2))  # another table
        waiting = queue_file(s, actor, rid, home, csv_text(4))
        now = utcnow()
        for job_id, worker, beat in (
            (crashed, f"{host}:{dead_pid}:abcd", now),  # its process on this machine is gone
            (silent, "elsewhere:1:abcd", now - timedelta(minutes=10)),  # no heartbeat for 10 minutes
            (alive, f"{host}:{os.getpid()}:other", now),  # a live runner of this process
        ):
            job = s.get(StoreJob, job_id)
            assert job is not None
            job.state, job.worker, job.heartbeat_at, job.started_at = "running", worker, beat, beat
    runner = job_runner.JobRunner(engine, home, workers=1, poll_seconds=0.05, stale_seconds=120)
    runner.start()
    try:
        picked = wait_for(engine, waiting)
    finally:
        runner.stop()
    assert picked.state == "succeeded"
    with session_scope(engine) as s:
        for job_id in (crashed, silent):  # back in the queue after a backoff, their uploads kept
            job = s.get(StoreJob, job_id)
            assert job is not None and (job.state, job.attempts, job.worker) == ("queued", 1, None)
            assert job.not_before is not None and job.not_before > utcnow()
            assert job.error == {"code": "store.job_interrupted", "message": "服务重启，任务中断", "details": None}
            assert jobs.upload_dir(home, job_id).is_dir()
        still = s.get(StoreJob, alive)
        assert still is not None and still.state == "running"
        assert service.get_table(s, actor, rid).current_version == 1  # only the queued job published


def test_a_job_declared_interrupted_meanwhile_does_not_publish(committed):
    engine, actor, rid, home = committed
    with session_scope(engine) as s:
        job = jobs.start_foreground_ingest(s, SYSTEM, rid, _file(home, csv_text(5)), worker="me")

    def taken_away(stage: str, _percent: int, _rows: int | None) -> None:
        if stage == "写入":  # another runner decides this job's process is gone
            jobs.recover_interrupted(engine, home, stale_seconds=-1, message=jobs.INTERRUPTED_STALE)

    done = job_runner.run_job(engine, job.id, home=home, on_progress=taken_away)
    assert done.state == "failed" and done.error is not None and done.error["message"] == jobs.INTERRUPTED_STALE
    with session_scope(engine) as s:
        assert service.get_table(s, actor, rid).current_version is None
        assert s.scalars(select(StoreVersion)).first() is None


def _kill(engine, job_id: str, worker: str) -> None:
    """The job as a worker that died while running it left it."""
    with session_scope(engine) as s:
        job = s.get(StoreJob, job_id)
        assert job is not None
        job.state, job.worker, job.heartbeat_at = "running", worker, utcnow()


def test_an_interrupted_job_is_retried_and_loads_once_then_dead_after_its_attempts(committed):
    engine, actor, rid, home = committed
    host = jobs.worker_name().split(":")[0]
    retry = jobs.Retry(max_attempts=2, seconds=0)
    with session_scope(engine) as s:
        retried = queue_file(s, actor, rid, home, csv_text(3))
        doomed = queue_file(s, actor, make_table(s, actor), home, csv_text(2))
    _kill(engine, retried, f"{host}:{_dead_pid()}:a")
    assert jobs.recover_interrupted(engine, home, stale_seconds=120, message="x", retry=retry) == {retried: "queued"}
    assert jobs.claim_jobs(engine, "w2", 5) == [retried, doomed]
    done = job_runner.run_job(engine, retried, home=home)
    assert done.state == "succeeded" and done.attempts == 1 and done.result["version"] == 1
    assert done.error is None  # the interruption is counted in attempts, not left as an error
    with session_scope(engine) as s:
        assert service.get_table(s, actor, rid).current_version == 1  # loaded once
    # a job interrupted as often as it may run is dead: not retried, visible, its upload kept for a re-queue
    with session_scope(engine) as s:
        s.get(StoreJob, doomed).attempts = 1
    _kill(engine, doomed, f"{host}:{_dead_pid()}:b")
    assert jobs.recover_interrupted(engine, home, stale_seconds=120, message="进程退出", retry=retry) == {
        doomed: "dead"
    }
    with session_scope(engine) as s:
        job = s.get(StoreJob, doomed)
        assert job.state == "dead" and job.attempts == 2 and job.error["code"] == "store.job_dead"
        assert "中断 2 次" in job.error["message"] and jobs.upload_dir(home, doomed).is_dir()
    assert jobs.claim_jobs(engine, "w2", 5) == []
    # the operator re-queues it: it runs again and loads once, its upload removed when it succeeds
    with session_scope(engine) as s:
        operator = builders.actor_of(builders.make_user(s, builders.make_org(s, "operator"), roles=["operator"]))
        assert job_service.requeue(s, operator, doomed, home=home).state == "queued"
    assert jobs.claim_jobs(engine, "w2", 5) == [doomed]
    again = job_runner.run_job(engine, doomed, home=home)
    assert again.state == "succeeded" and again.attempts == 0 and again.result["version"] == 1
    assert not jobs.upload_dir(home, doomed).exists()


def test_a_runner_taken_over_does_not_publish_or_remove_the_retry_upload(committed):
    engine, actor, rid, home = committed
    with session_scope(engine) as s:
        job_id = queue_file(s, actor, rid, home, csv_text(4))
    assert jobs.claim_jobs(engine, "slow-but-alive", 1) == [job_id]
    retry = jobs.Retry(max_attempts=3, seconds=0)

    def taken_over(stage: str, _percent: int, _rows: int | None) -> None:
        if stage == "写入":  # its heartbeat looked stale: requeued, and another worker claims it
            jobs.recover_interrupted(engine, home, stale_seconds=-1, message=jobs.INTERRUPTED_STALE, retry=retry)
            assert jobs.claim_jobs(engine, "other", 1) == [job_id]

    first = job_runner.run_job(engine, job_id, home=home, on_progress=taken_over)
    assert (first.state, first.attempts) == ("running", 1)  # the other worker's run, untouched
    assert jobs.upload_dir(home, job_id).is_dir()
    with session_scope(engine) as s:
        assert service.get_table(s, actor, rid).current_version is None
    second = job_runner.run_job(engine, job_id, home=home)
    assert second.state == "succeeded" and second.result["version"] == 1


def test_abandoned_upload_directories_are_swept(committed):
    engine, actor, rid, home = committed
    with session_scope(engine) as s:
        queued = queue_file(s, actor, rid, home, csv_text(2))
    orphan = jobs.upload_dir(home, str(uuid.uuid4()))
    orphan.mkdir(parents=True)
    (orphan / "source.csv").write_text("x")
    assert jobs.sweep_uploads(engine, home, older_than=60) == 0  # still fresh: may be streaming
    old = time.time() - 3600
    for path in (orphan / "source.csv", orphan):
        os.utime(path, (old, old))
    assert jobs.sweep_uploads(engine, home, older_than=60) == 1
    assert not orphan.exists() and jobs.upload_dir(home, queued).is_dir()


def _dead_pid() -> int:
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid += 1


# --- the command line: a foreground job with a progress bar --------------------------------------


@pytest.fixture
def cli_table(request, tmp_path):
    """A table made through the CLI in its own committed home; returns (resource id, engine)."""
    request.getfixturevalue("cli_home")
    import json

    from pubdata.db import get_engine
    from tests.test_cli import entry_of_a_new_department, run

    entry_of_a_new_department("QD-JOB-1")
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA), encoding="utf-8")
    rid = run("resource", "create", "QD-JOB-1", "登记表", "--schema", str(schema)).output.strip()
    return rid, get_engine()


def cli_jobs(engine: Engine) -> list[StoreJob]:
    with session_scope(engine) as s:
        found = list(s.scalars(select(StoreJob).order_by(StoreJob.created_at)))
        s.expunge_all()
    return found


def test_cli_ingest_runs_a_visible_job_and_reports_progress_on_stderr(cli_table, tmp_path):
    from tests.test_cli import run

    rid, engine = cli_table
    data = tmp_path / "登记.csv"
    data.write_text(csv_text(40), encoding="utf-8")
    r = run("ingest", rid, str(data))
    assert r.exit_code == 0, r.output
    assert re.search(r"\[\s*\d+%\] 读取", r.stderr) and "已读 40 行" in r.stderr and "[100%] 完成" in r.stderr
    assert r.stdout.startswith("版本 1（已发布）：载入 40 行，拒绝 0 行")
    (job,) = cli_jobs(engine)
    assert (job.state, job.created_via, job.source_name, job.percent) == ("succeeded", "cli", "登记.csv", 100)
    assert job.result is not None and job.result["rows_loaded"] == 40
    assert data.exists()  # the user's own file is left alone


def test_cli_ingest_json_prints_only_the_result(cli_table, tmp_path):
    import json

    from tests.test_cli import run

    rid, _ = cli_table
    data = tmp_path / "d.csv"
    data.write_text(csv_text(12, bad=8), encoding="utf-8")
    r = run("ingest", rid, str(data), "--json")
    assert r.exit_code == 3, r.output  # refused: too many rejected rows
    assert r.stderr == ""
    out = json.loads(r.stdout)
    assert set(out) == {"version", "state", "rows_loaded", "rows_rejected", "quality", "rejects_file"}
    assert (out["state"], out["rows_loaded"], out["rows_rejected"]) == ("refused", 0, 8)


def test_cli_ingest_of_a_bad_file_fails_its_job_and_exits_1_with_the_message(cli_table, tmp_path):
    import json

    from tests.test_cli import run

    rid, engine = cli_table
    data = tmp_path / "d.csv"
    data.write_text("uscc,name\n1,2\n", encoding="utf-8")
    r = run("ingest", rid, str(data))
    assert r.exit_code == 1 and "缺少字段 capital" in r.stderr
    r = run("ingest", rid, str(data), "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["error"]["code"] == "store.invalid_source"
    assert [j.state for j in cli_jobs(engine)] == ["failed", "failed"]
    r = run("ingest", rid, str(tmp_path / "missing.csv"))
    assert r.exit_code == 1 and "文件不存在" in r.stderr
    r = run("ingest", "no-such-resource", str(data))
    assert r.exit_code == 2
    assert len(cli_jobs(engine)) == 2  # nothing to run: no job


def test_cli_ingest_draws_a_progress_bar_on_a_terminal(cli_table, tmp_path, monkeypatch):
    from tests.test_cli import run

    monkeypatch.setenv("FORCE_COLOR", "1")  # rich treats stderr as a terminal
    monkeypatch.setenv("COLUMNS", "120")
    rid, _ = cli_table
    data = tmp_path / "d.csv"
    data.write_text(csv_text(30), encoding="utf-8")
    r = run("ingest", rid, str(data))
    assert r.exit_code == 0, r.output
    assert "━" in r.stderr and "100%" in r.stderr and "完成" in r.stderr and "已读 30 行" in r.stderr
    assert "[100%]" not in r.stderr  # the bar, not the plain lines


@pytest.mark.parametrize(
    ("raised", "code"), [(KeyboardInterrupt, "store.job_interrupted"), (RuntimeError, "store.job_crashed")]
)
def test_a_load_that_is_interrupted_or_crashes_fails_its_job_and_publishes_nothing(committed, raised, code):
    engine, actor, rid, home = committed
    with session_scope(engine) as s:
        started = jobs.start_foreground_ingest(s, SYSTEM, rid, _file(home, csv_text(5)), worker=jobs.worker_name())

    def stop(stage: str, _percent: int, _rows: int | None) -> None:
        if stage == "写入":
            raise raised("boom")

    if raised is KeyboardInterrupt:
        with pytest.raises(KeyboardInterrupt):  # Ctrl-C reaches the command line after it is recorded
            job_runner.run_job(engine, started.id, home=home, on_progress=stop)
        with session_scope(engine) as s:
            done = jobs.job_read(s.get(StoreJob, started.id))  # type: ignore[arg-type]
    else:
        done = job_runner.run_job(engine, started.id, home=home, on_progress=stop)
    assert done.state == "failed" and done.error is not None and done.error["code"] == code
    assert "未发布任何数据" in done.error["message"]
    with session_scope(engine) as s:
        assert service.get_table(s, actor, rid).current_version is None
