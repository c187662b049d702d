"""Issue 10 §8: the audit chain is checkable from outside.

Whoever can write every row of the database can rewrite the hash chain consistently — cut its tail
and fix ``audit_head``, delete a record and re-hash the rest, rewrite a record and update the anchors —
and the plain ``pubdata audit verify`` still passes. A checkpoint signed with a key kept outside the
database, taken before the tampering, catches each of them (exit 4), and cannot itself be edited.
"""

from __future__ import annotations

import base64
import json
import stat
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from pubdata.audit import checkpoints, keys
from pubdata.audit import service as audit
from pubdata.audit.errors import ChainBroken
from pubdata.audit.models import AuditAnchor, AuditHead, AuditRecord
from pubdata.authz import SYSTEM
from pubdata.cli import app
from pubdata.db import forget_engine, get_engine, session_scope
from pubdata.settings import Settings, get_settings
from tests.conftest import database_url

runner = CliRunner()


def run(*args: object):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def home(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """A platform home of its own (database and signing key), as the operator's CLI sees it."""
    platform = tmp_path / "home"
    monkeypatch.setenv("PUBDATA_HOME", str(platform))
    monkeypatch.setenv("PUBDATA_DATABASE_URL", database_url(tmp_path, name="auditsec"))
    for name in ("PUBDATA_AUDIT_SIGNING_KEY", "PUBDATA_AUDIT_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    forget_engine()
    assert run("migrate").exit_code == 0
    yield platform
    get_engine().dispose()
    get_settings.cache_clear()
    forget_engine()


def add_events(n: int) -> None:
    with session_scope() as s:
        for i in range(n):
            audit.record(s, SYSTEM, audit.Event("rows.read", rows=i, resource_id=f"r{i}", details={"第": i}))


def rehash(s: Session) -> None:
    """What a careful attacker does after editing: relink and re-hash every record, fix the head and
    re-point every in-database anchor, so that the plain verification passes again."""
    prev = audit.GENESIS
    at_length: dict[int, str] = {}
    for r in s.scalars(select(AuditRecord).order_by(AuditRecord.seq)):
        r.prev_hash = prev
        r.hash = audit.record_hash(r)
        prev = at_length[r.seq] = r.hash
        s.flush()
    s.execute(update(AuditHead).values(length=len(at_length), last_hash=prev))
    s.execute(delete(AuditAnchor).where(AuditAnchor.length > len(at_length)))
    for a in s.scalars(select(AuditAnchor)):
        a.head_hash = at_length[a.length]


def cut_the_tail() -> None:
    with session_scope() as s:
        s.execute(delete(AuditRecord).where(AuditRecord.seq > 5))
        rehash(s)


def delete_a_record_and_rehash() -> None:
    with session_scope() as s:
        s.execute(delete(AuditRecord).where(AuditRecord.seq == 3))
        for seq in range(4, 11):  # close the gap, oldest first
            s.execute(update(AuditRecord).where(AuditRecord.seq == seq).values(seq=seq - 1))
        rehash(s)


def rewrite_a_record_and_the_anchors() -> None:
    with session_scope() as s:
        s.execute(update(AuditRecord).where(AuditRecord.seq == 2).values(rows=0, reason="改过"))
        s.expire_all()
        rehash(s)


@pytest.mark.parametrize(
    ("attack", "problem", "said"),
    [
        (cut_the_tail, "checkpoint_truncated", "审计链只有 5 条记录，短于"),
        (delete_a_record_and_rehash, "checkpoint_mismatch", "第 8 条记录的哈希与"),
        (rewrite_a_record_and_the_anchors, "checkpoint_mismatch", "第 8 条记录的哈希与"),
    ],
)
def test_a_consistent_rewrite_passes_verify_but_not_a_signed_checkpoint(home, tmp_path, attack, problem, said):
    add_events(8)
    checkpoint = tmp_path / "elsewhere" / "2025-01-31.json"
    checkpoint.parent.mkdir()
    r = run("audit", "anchor", "--out", checkpoint)
    assert r.exit_code == 0, r.output
    assert json.loads(checkpoint.read_text())["length"] == 8
    add_events(2)  # the chain goes on after the checkpoint
    assert run("audit", "verify", "--against", checkpoint).exit_code == 0

    attack()

    assert run("audit", "verify").exit_code == 0  # the hole: the chain alone cannot tell
    r = run("audit", "verify", "--against", checkpoint)
    assert r.exit_code == 4, r.output
    assert said in r.output and "签署的检查点" in r.output
    r = run("audit", "verify", "--against", checkpoint, "--json")
    assert r.exit_code == 4 and json.loads(r.output)["problem"] == problem


def test_the_service_reports_where_the_rewrite_lies_between_two_checkpoints(home):
    add_events(4)
    with session_scope() as s:
        first = audit.checkpoint(s, SYSTEM).dumps()
    add_events(4)
    with session_scope() as s:
        second = audit.checkpoint(s, SYSTEM).dumps()
    with session_scope() as s:
        s.execute(update(AuditRecord).where(AuditRecord.seq == 6).values(action="tampered"))
        s.expire_all()
        rehash(s)
    with session_scope() as s:
        assert audit.verify(s, SYSTEM).ok
        result = audit.verify(s, SYSTEM, against=[second, first])
    assert not result.ok and result.problem == "checkpoint_mismatch" and result.seq == 8
    assert "第 5–8 条记录" in result.message  # the first checkpoint still holds


@pytest.mark.parametrize(
    "edit",
    [
        {"length": 5},
        {"head_hash": "0" * 64},
        {"at": "2099-01-01T00:00:00Z"},
        {"signature": base64.b64encode(b"\0" * 64).decode()},
    ],
)
def test_an_edited_checkpoint_fails_its_signature(home, tmp_path, edit):
    add_events(8)
    checkpoint = tmp_path / "cp.json"
    assert run("audit", "anchor", "--out", checkpoint).exit_code == 0
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**json.loads(checkpoint.read_text()), **edit}))
    r = run("audit", "verify", "--against", forged)
    assert r.exit_code == 4 and "签名无效" in r.output
    assert json.loads(run("audit", "verify", "--against", forged, "--json").output)["problem"] == "bad_signature"


def test_a_checkpoint_signed_with_another_key_is_refused(home, tmp_path):
    """An attacker who rewrote the chain signs a checkpoint of it with a key of their own (and puts
    that key in the file): the verifier checks with the key it pinned, not the one the file carries."""
    add_events(3)
    pinned = tmp_path / "platform.pem"
    assert run("audit", "public-key", "--out", pinned).exit_code == 0
    with session_scope() as s:
        length, head = s.execute(select(AuditHead.length, AuditHead.last_hash)).one()
    forged = checkpoints.sign(Ed25519PrivateKey.generate(), length, head, datetime.now(UTC))
    path = tmp_path / "forged.json"
    path.write_text(forged.dumps())
    for extra in ((), ("--public-key", pinned)):
        r = run("audit", "verify", "--against", path, *extra)
        assert r.exit_code == 4 and "另一把密钥" in r.output


def test_garbage_instead_of_a_checkpoint_fails_the_check(home, tmp_path):
    add_events(2)
    for text in ("{", "[]", json.dumps({"format": checkpoints.FORMAT, "length": "8"})):
        path = tmp_path / "bad.json"
        path.write_text(text)
        r = run("audit", "verify", "--against", path)
        assert r.exit_code == 4 and "检查点无法读取" in r.output


def test_a_broken_chain_is_never_signed(home, tmp_path):
    add_events(4)
    with session_scope() as s:
        s.execute(update(AuditRecord).where(AuditRecord.seq == 2).values(rows=12345))
    out = tmp_path / "cp.json"
    r = run("audit", "anchor", "--out", out)
    assert r.exit_code == 4 and "第 2 条" in r.output and not out.exists()


def test_the_signing_key_is_kept_outside_the_database_with_mode_600(home, tmp_path):
    add_events(1)
    assert run("audit", "anchor", "--out", tmp_path / "cp.json").exit_code == 0
    key_file = home / keys.KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in key_file.read_bytes()
    with session_scope() as s:  # the database holds no key material
        dumped = json.dumps([audit.as_dict(r) for r in s.execute(select(*AuditRecord.__table__.c))], default=str)
    assert key_file.read_text().splitlines()[1] not in dumped
    # a key file others may read is refused, as ssh refuses one
    key_file.chmod(0o644)
    r = run("audit", "anchor", "--out", tmp_path / "cp2.json")
    assert r.exit_code == 1 and "chmod 600" in r.output
    assert not (tmp_path / "cp2.json").exists()


def test_the_key_can_come_from_the_environment_or_a_file_elsewhere(home, tmp_path, monkeypatch):
    add_events(2)
    seed = Ed25519PrivateKey.generate()
    raw = seed.private_bytes_raw()
    monkeypatch.setenv("PUBDATA_AUDIT_SIGNING_KEY", base64.b64encode(raw).decode())
    r = run("audit", "anchor", "--out", tmp_path / "env.json", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["key_id"] == keys.key_id(seed.public_key())
    assert not (home / keys.KEY_FILE_NAME).exists()

    monkeypatch.delenv("PUBDATA_AUDIT_SIGNING_KEY")
    elsewhere = tmp_path / "vault" / "audit.pem"
    monkeypatch.setenv("PUBDATA_AUDIT_KEY_FILE", str(elsewhere))
    assert run("audit", "anchor", "--out", tmp_path / "file.json").exit_code == 0
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o600 and not (home / keys.KEY_FILE_NAME).exists()
    # checkpoints of the first key do not verify with the second
    assert run("audit", "verify", "--against", tmp_path / "env.json").exit_code == 4
    assert run("audit", "verify", "--against", tmp_path / "file.json").exit_code == 0


def test_a_regulator_verifies_with_the_public_key_alone(home, tmp_path, monkeypatch):
    add_events(6)
    pem = tmp_path / "pinned.pem"
    assert run("audit", "public-key", "--out", pem).exit_code == 0
    assert "BEGIN PUBLIC KEY" in pem.read_text() and "PRIVATE" not in pem.read_text()
    checkpoint = tmp_path / "cp.json"
    assert run("audit", "anchor", "--out", checkpoint).exit_code == 0
    trail = tmp_path / "trail.jsonl"
    assert run("audit", "export", trail).exit_code == 0

    # the regulator's machine: no signing key at all
    monkeypatch.setenv("PUBDATA_AUDIT_KEY_FILE", str(tmp_path / "none" / "key.pem"))
    r = run("audit", "verify", "--against", checkpoint)
    assert r.exit_code == 2 and "--public-key" in r.output
    assert not (tmp_path / "none").exists()  # verifying never makes a key
    assert run("audit", "verify", "--against", checkpoint, "--public-key", pem).exit_code == 0
    raw = base64.b64encode(keys.public_from_text(pem.read_text()).public_bytes_raw()).decode()
    assert run("audit", "verify", "--against", checkpoint, "--public-key", raw).exit_code == 0

    # …and with the export alone, offline: the same rewrite, done on the exported file, is caught
    assert run("audit", "verify", "--trail", trail, "--against", checkpoint, "--public-key", pem).exit_code == 0
    lines = [json.loads(x) for x in trail.read_text().splitlines()]
    del lines[2]
    prev = audit.GENESIS
    for n, line in enumerate(lines, 1):
        line.update(seq=n, prev_hash=prev)
        row = SimpleNamespace(**{**line, "at": datetime.fromisoformat(line["at"])})
        line["hash"] = prev = audit.record_hash(row)
    forged = tmp_path / "forged.jsonl"
    forged.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    assert run("audit", "verify", "--trail", forged, "--public-key", pem).exit_code == 0  # consistent alone
    r = run("audit", "verify", "--trail", forged, "--against", checkpoint, "--public-key", pem)
    assert r.exit_code == 4 and "短于" in r.output
    forged.write_text(trail.read_text().replace('"seq": 2', '"seq": "2"'))
    r = run("audit", "verify", "--trail", forged, "--public-key", pem)
    assert r.exit_code == 4 and "第 2 行不是完整的审计记录" in r.output


def test_the_api_publishes_a_fresh_signed_checkpoint_to_the_regulator(
    client, session, as_actor, token_for, settings: Settings
):
    for i in range(3):
        audit.record(session, SYSTEM, audit.Event("rows.read", rows=i))
    regulator = {"Authorization": f"Bearer {token_for(as_actor('regulator'), ['read'])}"}
    r = client.get("/api/v1/audit/checkpoint", headers=regulator)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["format"] == checkpoints.FORMAT and body["length"] == 3
    assert body["head_hash"] == session.scalar(select(AuditRecord.hash).where(AuditRecord.seq == 3))
    pinned = keys.public_pem(keys.verifying_key(settings))
    assert audit.verify(session, SYSTEM, against=[body], public_key=pinned).ok
    assert checkpoints.signature_problem(checkpoints.parse({**body, "length": 2}), keys.verifying_key(settings))
    bank = {"Authorization": f"Bearer {token_for(as_actor('bank'), ['read'])}"}
    assert client.get("/api/v1/audit/checkpoint", headers=bank).status_code == 403
    assert client.get("/api/v1/audit/checkpoint").status_code == 401
    # nothing is signed over a broken chain
    session.execute(update(AuditRecord).where(AuditRecord.seq == 2).values(rows=777))
    session.expire_all()
    r = client.get("/api/v1/audit/checkpoint", headers=regulator)
    assert r.status_code == 409 and r.json()["error"]["code"] == ChainBroken.code


def test_checkpoint_bytes_are_canonical_and_documented():
    key = Ed25519PrivateKey.generate()
    point = checkpoints.sign(key, 42, "a" * 64, datetime(2025, 1, 31, 16, 0, tzinfo=UTC))
    expected = (
        '{"at":"2025-01-31T16:00:00Z","format":"pubdata-audit-checkpoint/1","head_hash":"' + "a" * 64 + '",'
        '"key_id":"' + keys.key_id(key.public_key()) + '","length":42}'
    ).encode()
    assert point.signed_bytes() == expected
    key.public_key().verify(base64.b64decode(point.signature), expected)  # any Ed25519 tool can check it
