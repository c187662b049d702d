"""The operator's view of the platform's jobs, by the API and the portal: every job of every kind,
the dead-letter ones by a filter, re-queueing (audited) and queueing by hand — the operator and
administrators only; every other role is refused and sees nothing."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata import workers  # noqa: F401 - registers every kind
from pubdata.audit.models import AuditRecord
from pubdata.jobs import queue
from pubdata.jobs.models import Job
from tests.web.helpers import hidden_field, login


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def dead_job(session: Session, year: int = 2025, kind: str = "facts.build") -> str:
    params = {"month": f"{year}-01"} if kind == "market.settle" else {"year": year}
    job_id, _ = queue.enqueue(session, kind, params=params, key=queue.key_for(kind, params))
    job = session.get(Job, job_id)
    assert job is not None
    job.state, job.attempts, job.active_key = "dead", 3, None
    job.error = {"code": "jobs.dead", "message": "进程退出：任务已中断 3 次，不再重试", "details": None}
    session.flush()
    return job_id


def test_the_operator_lists_dead_jobs_and_requeues_one_nobody_else_may(client, session, as_actor, token_for):
    job_id = dead_job(session)
    operator = as_actor("operator")
    ops = bearer(token_for(operator, scopes=["read", "operate"]))
    listed = client.get("/api/v1/jobs", params={"state": "dead"}, headers=ops)
    assert listed.status_code == 200 and [j["id"] for j in listed.json()] == [job_id]
    assert listed.json()[0]["title"] == "企业档案生成" and listed.json()[0]["error"]["code"] == "jobs.dead"
    assert client.get("/api/v1/jobs", params={"state": "bogus"}, headers=ops).status_code == 422
    for role in ("department", "bank", "enterprise", "regulator"):
        actor = as_actor(role)
        h = bearer(token_for(actor))
        r = client.get("/api/v1/jobs", params={"state": "dead"}, headers=h)
        assert r.status_code == 403 and job_id not in r.text, role
        assert client.post(f"/api/v1/jobs/{job_id}/requeue", headers=h).status_code == 403, role
    assert client.get("/api/v1/jobs").status_code == 401
    r = client.post(f"/api/v1/jobs/{job_id}/requeue", headers=ops)
    assert r.status_code == 200 and r.json()["state"] == "queued" and r.json()["attempts"] == 0
    again = client.post(f"/api/v1/jobs/{job_id}/requeue", headers=ops)
    assert again.status_code == 409 and again.json()["error"]["code"] == "jobs.not_requeueable"
    (record,) = session.scalars(select(AuditRecord).where(AuditRecord.action == "jobs.requeue")).all()
    assert record.details["job_id"] == job_id and record.details["was"] == "dead"


def test_the_operator_queues_a_job_once_however_often_asked(client, session, as_actor, token_for):
    ops = bearer(token_for(as_actor("operator"), scopes=["read", "operate"]))
    first = client.post("/api/v1/jobs", json={"kind": "facts.build", "params": {"year": 2025}}, headers=ops)
    assert first.status_code == 202 and first.json()["key"] == "facts.build:year=2025"
    second = client.post("/api/v1/jobs", json={"kind": "facts.build", "params": {"year": 2025}}, headers=ops)
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
    unknown = client.post("/api/v1/jobs", json={"kind": "no.such"}, headers=ops)
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "jobs.unknown_kind"
    assert client.post("/api/v1/jobs", json={"kind": "ingest"}, headers=ops).status_code == 422
    shown = client.get(f"/api/v1/jobs/{first.json()['id']}", headers=ops)
    assert shown.status_code == 200 and shown.json()["params"] == {"year": 2025}
    department = bearer(token_for(as_actor("department")))
    assert client.get(f"/api/v1/jobs/{first.json()['id']}", headers=department).status_code == 404
    assert len(session.scalars(select(AuditRecord).where(AuditRecord.action == "jobs.enqueue")).all()) == 1


def test_queueing_a_job_needs_the_right_to_do_its_work(client, session, as_actor, token_for):
    # the job runs as the system: the operator's platform:jobs:manage must not settle a month, which
    # is the finance staff's (market:settlement:run) — neither by queueing it nor by re-queueing it
    ops = bearer(token_for(as_actor("operator"), scopes=["read", "operate"]))
    refused = client.post("/api/v1/jobs", json={"kind": "market.settle", "params": {"month": "2025-02"}}, headers=ops)
    assert refused.status_code == 403
    dead = dead_job(session, kind="market.settle")
    assert client.post(f"/api/v1/jobs/{dead}/requeue", headers=ops).status_code == 403
    assert session.get(Job, dead, populate_existing=True).state == "dead"  # type: ignore[union-attr]
    admin = bearer(token_for(as_actor("admin"), scopes=["read", "operate", "market"]))
    allowed = client.post("/api/v1/jobs", json={"kind": "market.settle", "params": {"month": "2025-02"}}, headers=admin)
    assert allowed.status_code == 202, allowed.text
    assert client.post(f"/api/v1/jobs/{dead}/requeue", headers=admin).status_code == 200


def test_the_portal_page_shows_dead_jobs_to_the_operator_and_requeues_them(app, session, as_actor):
    job_id = dead_job(session, 2024)
    operator, department = as_actor("operator"), as_actor("department")
    with TestClient(app) as c:
        assert c.get("/jobs", follow_redirects=False).status_code == 303  # sign in first
        assert login(c, department.username).status_code == 303
        assert c.get("/jobs").status_code == 403
    with TestClient(app) as c:
        assert login(c, operator.username).status_code == 303
        page = c.get("/jobs", params={"state": "dead"})
        assert page.status_code == 200 and f'id="job-{job_id}"' in page.text and "已停止重试" in page.text
        assert 'href="/jobs"' in c.get("/").text  # in the operator's navigation
        token = hidden_field(page.text, "csrf_token")
        r = c.post(f"/jobs/{job_id}/requeue", data={"csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303
        assert session.get(Job, job_id, populate_existing=True).state == "queued"  # type: ignore[union-attr]
        offered = page.text.split('id="queue-job"')[1]
        assert '<option value="facts.build">' in offered
        assert '<option value="market.settle">' not in offered  # the finance staff's work, not offered
        queued = c.post("/jobs", data={"csrf_token": token, "kind": "policy.match", "pack_id": ""})
        assert queued.status_code == 200 and "已提交任务" in queued.text
        assert (
            c.post("/jobs", data={"csrf_token": token, "kind": "market.settle", "month": "2025-04"}).status_code == 403
        )
        assert c.post("/jobs", data={"csrf_token": token, "kind": "ingest"}).status_code == 422
