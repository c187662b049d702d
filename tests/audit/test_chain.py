"""The audit trail: every governed read and every refusal recorded, hash-chained, and `verify`
pinpointing a record changed, deleted or rewritten directly in the database."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from pubdata.audit import service as audit
from pubdata.audit.models import AuditHead, AuditRecord
from pubdata.authz import ANONYMOUS, SYSTEM
from pubdata.db import write_durable
from pubdata.errors import Forbidden
from pubdata.store.query.rows import RowQuery, read_rows
from tests.store.rows_fixture import load_table


def events(session, n, actor=SYSTEM):
    for i in range(n):
        audit.record(session, actor, audit.Event("test.event", rows=i, details={"i": i, "名称": "测试"}))


def test_an_untouched_chain_verifies(session):
    events(session, 5)
    result = audit.verify(session, SYSTEM)
    assert result.ok and result.length == 5
    seqs = [r.seq for r in session.scalars(select(AuditRecord).order_by(AuditRecord.seq))]
    assert seqs == [1, 2, 3, 4, 5]


def test_a_changed_record_is_pinpointed(session):
    events(session, 6)
    session.execute(update(AuditRecord).where(AuditRecord.seq == 4).values(rows=999))
    session.expire_all()
    result = audit.verify(session, SYSTEM)
    assert not result.ok and result.seq == 4 and result.problem == "changed"
    assert "第 4 条" in result.message


def test_a_deleted_record_is_pinpointed(session):
    events(session, 6)
    session.execute(delete(AuditRecord).where(AuditRecord.seq == 3))
    result = audit.verify(session, SYSTEM)
    assert not result.ok and result.seq == 3 and result.problem == "inserted_or_deleted"


def test_a_cut_tail_is_detected(session):
    events(session, 6)
    session.execute(delete(AuditRecord).where(AuditRecord.seq >= 5))
    result = audit.verify(session, SYSTEM)
    assert not result.ok and result.seq == 5 and result.problem == "truncated"


def test_a_head_set_back_over_records_still_there_is_detected(session):
    events(session, 6)
    last4 = session.scalar(select(AuditRecord.hash).where(AuditRecord.seq == 4))
    session.execute(update(AuditHead).values(length=4, last_hash=last4))
    result = audit.verify(session, SYSTEM)
    assert not result.ok and result.seq == 5 and "链头被改回" in result.message


def test_a_rewritten_chain_breaks_its_anchor(session):
    events(session, 4)
    audit.anchor(session, SYSTEM)
    # rewrite record 2 and re-hash everything after it, head included: only the anchor can tell
    session.execute(update(AuditRecord).where(AuditRecord.seq == 2).values(reason="改过"))
    session.expire_all()
    prev = audit.GENESIS
    for r in session.scalars(select(AuditRecord).order_by(AuditRecord.seq)):
        r.prev_hash = prev
        r.hash = audit.record_hash(r)
        prev = r.hash
    session.execute(update(AuditHead).values(last_hash=prev))
    session.flush()
    result = audit.verify(session, SYSTEM)
    assert not result.ok and result.problem == "anchor_mismatch" and result.seq == 4


def test_governed_reads_are_recorded_and_open_reads_are_not(session, as_actor, settings, tmp_path):
    owner = as_actor("department")
    closed = load_table(session, owner, settings.home, tmp_path, open_type="conditional")
    opened = load_table(session, owner, settings.home, tmp_path)
    read_rows(session, owner, closed.resource_id, RowQuery(limit=7), home=settings.home)
    read_rows(session, ANONYMOUS, opened.resource_id, RowQuery(limit=7), home=settings.home)
    assert write_durable(session)  # reads are chained as the request's transaction ends
    records = list(session.scalars(select(AuditRecord).order_by(AuditRecord.seq)))
    assert [(r.action, r.result, r.resource_id, r.rows, r.entry_code) for r in records] == [
        ("rows.read", "allowed", closed.resource_id, 7, closed.entry_code)
    ]
    assert records[0].actor_user_id == owner.user_id and len(records[0].query_digest or "") == 64


def test_a_refused_read_is_recorded_although_the_request_fails(
    client, session, as_actor, token_for, settings, tmp_path
):
    closed = load_table(session, as_actor("department"), settings.home, tmp_path, open_type="conditional")
    bank = as_actor("bank")
    r = client.get(
        f"/api/v1/resources/{closed.resource_id}/rows", headers={"Authorization": f"Bearer {token_for(bank, ['read'])}"}
    )
    assert r.status_code == 403
    (rec,) = session.scalars(select(AuditRecord).where(AuditRecord.result == "refused"))
    assert rec.actor_org_id == bank.organisation_id and rec.resource_id == closed.resource_id
    assert "无权读取" in rec.reason
    assert audit.verify(session, SYSTEM).ok


def test_who_sees_which_records(session, as_actor, settings, tmp_path):
    owner = as_actor("department")
    closed = load_table(session, owner, settings.home, tmp_path, open_type="conditional")
    read_rows(session, owner, closed.resource_id, RowQuery(limit=1), home=settings.home)
    bank = as_actor("bank")
    with pytest.raises(Forbidden):
        read_rows(session, bank, closed.resource_id, RowQuery(limit=1), home=settings.home)
    write_durable(session)  # the read and the refusal, as the request boundary would
    everything = audit.search(session, as_actor("regulator"), audit.AuditQuery())[0]
    assert everything == 2
    assert audit.search(session, owner, audit.AuditQuery())[0] == 2  # every use of its data
    assert [r.result for r in audit.search(session, bank, audit.AuditQuery())[1]] == ["refused"]  # its own
    assert audit.search(session, as_actor("enterprise"), audit.AuditQuery())[0] == 0
    with pytest.raises(Forbidden):
        audit.verify(session, bank)


def test_cli_verify_and_export(tmp_path, monkeypatch):
    from pubdata.cli import app
    from pubdata.db import forget_engine, get_engine, session_scope
    from pubdata.settings import get_settings
    from tests.conftest import database_url

    monkeypatch.setenv("PUBDATA_HOME", str(tmp_path))
    monkeypatch.setenv("PUBDATA_DATABASE_URL", database_url(tmp_path, name="auditcli"))
    get_settings.cache_clear()
    forget_engine()
    runner = CliRunner()
    try:
        assert runner.invoke(app, ["migrate"]).exit_code == 0
        with session_scope() as s:
            events(s, 3)
        r = runner.invoke(app, ["audit", "verify", "--json"])
        assert r.exit_code == 0 and json.loads(r.output)["length"] == 3
        r = runner.invoke(app, ["audit", "export", str(tmp_path / "trail.jsonl")])
        assert r.exit_code == 0
        lines = [json.loads(x) for x in (tmp_path / "trail.jsonl").read_text().splitlines()]
        assert [x["seq"] for x in lines] == [1, 2, 3] and lines[2]["prev_hash"] == lines[1]["hash"]
        with session_scope() as s:
            s.execute(update(AuditRecord).where(AuditRecord.seq == 2).values(action="tampered"))
        r = runner.invoke(app, ["audit", "verify"])
        assert r.exit_code == 4 and "第 2 条" in r.output
    finally:
        get_engine().dispose()
        get_settings.cache_clear()
        forget_engine()


def test_audit_api_by_role(client, session, as_actor, token_for):
    events(session, 3)
    regulator = {"Authorization": f"Bearer {token_for(as_actor('regulator'), ['read'])}"}
    body = client.get("/api/v1/audit", headers=regulator).json()
    assert body["total"] == 3 and [r["seq"] for r in body["records"]] == [3, 2, 1]
    assert client.get("/api/v1/audit/verify", headers=regulator).json()["ok"] is True
    csv_text = client.get("/api/v1/audit/export.csv", headers=regulator).content.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("seq,at,action") and len(csv_text.splitlines()) == 4
    bank = {"Authorization": f"Bearer {token_for(as_actor('bank'), ['read'])}"}
    assert client.get("/api/v1/audit", headers=bank).json()["total"] == 0
    assert client.get("/api/v1/audit/verify", headers=bank).status_code == 403
    assert client.get("/api/v1/audit/export.csv", headers=bank).status_code == 403
    assert client.get("/api/v1/audit").status_code == 401
