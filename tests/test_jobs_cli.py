"""``pubdata jobs``: queue a long job (deduplicated), list the dead-letter jobs, re-queue one."""

from __future__ import annotations

import json

from pubdata.db import get_engine, session_scope
from pubdata.jobs.models import Job
from tests.test_cli import cli_home, run  # noqa: F401 - the fixture


def test_queue_list_and_requeue_from_the_command_line(cli_home):  # noqa: F811
    assert run("migrate").exit_code == 0
    r = run("jobs", "queue", "market.settle", "--month", "2025-05", "--json")
    assert r.exit_code == 0, r.output
    job = json.loads(r.output)
    assert job["state"] == "queued" and job["key"] == "market.settle:month=2025-05" and job["created_via"] == "cli"
    again = json.loads(run("jobs", "queue", "market.settle", "--month", "2025-05", "--json").output)
    assert again["id"] == job["id"]
    bad = run("jobs", "queue", "no.such", "--json")
    assert bad.exit_code == 1 and json.loads(bad.output)["error"]["code"] == "jobs.unknown_kind"
    with session_scope(get_engine()) as s:
        row = s.get(Job, job["id"])
        assert row is not None
        row.state, row.active_key, row.attempts = "dead", None, 3
    listed = json.loads(run("jobs", "list", "--state", "dead", "--json").output)
    assert [j["id"] for j in listed] == [job["id"]]
    r = run("jobs", "requeue", job["id"])
    assert r.exit_code == 0 and "已重新排队" in r.output
    assert run("jobs", "list", "--state", "dead").output.strip() == "没有任务"
    refused = run("jobs", "requeue", job["id"], "--json")
    assert refused.exit_code == 1 and json.loads(refused.output)["error"]["code"] == "jobs.not_requeueable"
