"""The background work of a process, behind one interface (``pubdata.workers``)."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient

from pubdata import workers
from pubdata.app import create_app

NAMES = {"pubdata-job-runner", "pubdata-facts-refresh", "pubdata-policy-match", "pubdata-credit-score"}
SETTLEMENT = "pubdata-settlement"  # the settlement scheduler: only with PUBDATA_SETTLEMENT_AUTO


def _alive() -> set[str]:
    return {t.name for t in threading.enumerate()} & (NAMES | {SETTLEMENT})


def test_running_starts_every_worker_and_stops_them_all(engine, settings):
    on = settings.model_copy(update={"job_workers": 1, "facts_refresh_seconds": 3600})
    assert not _alive()
    with workers.running(engine, on) as work:
        assert _alive() == NAMES
        assert {w.name for w in work.all} == NAMES | {SETTLEMENT}
    assert not _alive()
    with workers.running(engine, on.model_copy(update={"settlement_auto": True})):
        assert _alive() == NAMES | {SETTLEMENT}
    assert not _alive()


def test_each_worker_can_be_switched_off(engine, settings):
    off = settings.model_copy(update={"job_workers": 0, "facts_refresh_seconds": 0, "settlement_auto": False})
    with workers.running(engine, off):
        assert not _alive()


def test_the_server_runs_them_while_it_serves(engine, settings):
    on = settings.model_copy(update={"job_workers": 1, "facts_refresh_seconds": 3600})
    app = create_app(on, engine)
    with TestClient(app):
        assert _alive() == NAMES and app.state.job_runner.name == "pubdata-job-runner"
    assert not _alive()


def test_serve_without_workers_leaves_the_work_to_worker_processes(engine, settings):
    app = create_app(settings.model_copy(update={"job_workers": 1, "run_workers": False}), engine)
    with TestClient(app):
        assert not _alive() and app.state.job_runner is None


def test_every_kind_of_long_job_is_registered_where_jobs_run():
    from pubdata.jobs import registry

    assert set(registry.kinds()) >= {"ingest", "facts.build", "credit.score", "policy.match", "market.settle", "backup"}
