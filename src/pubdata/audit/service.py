"""Writing, verifying and searching the audit trail.

``record`` appends one event in the caller's transaction: it first takes the chain's head row with an
``UPDATE`` (a row lock on PostgreSQL, the write lock on SQLite), so appends are chained one at a time;
the new record's hash covers its content and the previous hash. ``refuse`` records a refusal so that
it survives the rollback of the request that was refused (``db.keep_whatever_happens``). Every
``ANCHOR_EVERY`` records an anchor (length and head hash) is written; ``verify`` walks the chain and
says where it breaks: a changed record (its hash no longer matches), an inserted or deleted one (the
sequence or the previous-hash link breaks), a cut tail (the head disagrees) or a rewritten chain
(an anchor disagrees).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pubdata.audit.models import AuditAnchor, AuditHead, AuditRecord
from pubdata.authz import Actor, Permission, require
from pubdata.db import keep_whatever_happens, utcnow

GENESIS = "0" * 64
ANCHOR_EVERY = 1000
ALLOWED = "allowed"
REFUSED = "refused"


@dataclass
class Event:
    """What happened, to which data: the caller fills what applies."""

    action: str
    result: str = ALLOWED
    reason: str = ""
    entry_code: str | None = None
    resource_id: str | None = None
    version: int | None = None
    grant_id: int | None = None
    query_digest: str | None = None
    rows: int | None = None
    publisher_org_id: int | None = None
    details: dict[str, Any] | None = field(default=None)


def digest_of(text: str) -> str:
    """The digest recorded for a query (its text is not kept: it may hold the values probed)."""
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical_time(at: datetime) -> str:
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record_hash(r: Any) -> str:
    """The hash of a record (an ORM object or a plain row with the same columns)."""
    content = [
        r.seq, _canonical_time(r.at), r.action, r.result, r.reason, r.actor_user_id, r.actor_name, r.actor_org_id,
        r.via, r.publisher_org_id, r.entry_code, r.resource_id, r.version, r.grant_id, r.query_digest, r.rows,
        r.details, r.prev_hash,
    ]  # fmt: skip
    text = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _take_head(session: Session) -> tuple[int, str]:
    """Lock the head and reserve the next sequence number: (seq, previous hash)."""
    stmt = (
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(length=AuditHead.length + 1)
        .returning(AuditHead.length, AuditHead.last_hash)
    )
    row = session.execute(stmt).first()
    if row is None:
        try:
            with session.begin_nested():
                session.execute(insert(AuditHead).values(id=1, length=0, last_hash=GENESIS))
        except IntegrityError:
            pass  # another transaction created it first
        row = session.execute(stmt).first()
    assert row is not None
    return int(row[0]), str(row[1])


def record(session: Session, actor: Actor, event: Event) -> AuditRecord:
    """Append ``event`` by ``actor`` to the chain (in the caller's transaction)."""
    seq, prev = _take_head(session)
    rec = AuditRecord(
        seq=seq,
        at=utcnow(),
        actor_user_id=actor.user_id,
        actor_name=actor.username or ("system" if actor.via == "system" else "匿名"),
        actor_org_id=actor.organisation_id,
        via=actor.via,
        prev_hash=prev,
        **asdict(event),
    )
    rec.hash = record_hash(rec)
    session.add(rec)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_hash=rec.hash))
    if seq % ANCHOR_EVERY == 0:
        session.add(AuditAnchor(length=seq, head_hash=rec.hash))
    session.flush()
    return rec


def record_later(session: Session, actor: Actor, event: Event) -> None:
    """Append ``event`` just before the caller's transaction ends (committed even if it fails): the
    chain's head is then locked for a moment, not for the whole request. For reads."""
    keep_whatever_happens(session, lambda s: record(s, actor, event))


def refuse(session: Session, actor: Actor, event: Event) -> None:
    """Record a refusal so that it is kept although the refused request's transaction rolls back."""
    event.result = REFUSED
    keep_whatever_happens(session, lambda s: record(s, actor, event))


def anchor(session: Session, actor: Actor) -> AuditAnchor | None:
    """Write an anchor of the chain as it is now (none when the chain is empty)."""
    require(actor, Permission.AUDIT_TRAIL_READ)
    head = session.get(AuditHead, 1)
    if head is None or head.length == 0:
        return None
    out = AuditAnchor(length=head.length, head_hash=head.last_hash)
    session.add(out)
    session.flush()
    return out


# --- verifying ------------------------------------------------------------------------------------


@dataclass
class Verification:
    ok: bool
    length: int
    anchors: int
    seq: int | None = None  # where the chain breaks
    problem: str | None = None  # changed | inserted_or_deleted | truncated | anchor_mismatch
    message: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _records(session: Session, batch: int = 5000) -> Iterator[AuditRecord]:
    last = 0
    while True:
        rows = list(
            session.scalars(select(AuditRecord).where(AuditRecord.seq > last).order_by(AuditRecord.seq).limit(batch))
        )
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def verify(session: Session, actor: Actor) -> Verification:
    """Walk the whole chain; the first break is reported with its sequence number."""
    require(actor, Permission.AUDIT_TRAIL_READ)
    anchors = {a.length: a.head_hash for a in session.scalars(select(AuditAnchor))}
    head = session.get(AuditHead, 1)
    head_length, head_hash = (head.length, head.last_hash) if head else (0, GENESIS)
    expected_seq, prev = 1, GENESIS
    hashes_at_anchors: dict[int, str] = {}
    for r in _records(session):
        if r.seq != expected_seq or r.prev_hash != prev:
            what = f"第 {expected_seq} 条记录缺失" if r.seq > expected_seq else f"第 {r.seq} 条记录与前一条的链接不符"
            return Verification(
                False, head_length, len(anchors), expected_seq, "inserted_or_deleted",
                f"审计链在第 {expected_seq} 条处断开：{what}（记录被删除或插入）",
            )  # fmt: skip
        if record_hash(r) != r.hash:
            return Verification(
                False, head_length, len(anchors), r.seq, "changed",
                f"审计链在第 {r.seq} 条处断开：记录内容与其哈希不符（记录被修改）",
            )  # fmt: skip
        if r.seq in anchors:
            hashes_at_anchors[r.seq] = r.hash
        prev = r.hash
        expected_seq += 1
    length = expected_seq - 1
    if length != head_length or prev != head_hash:
        return Verification(
            False, head_length, len(anchors), length + 1, "truncated",
            f"审计链只有 {length} 条记录，链头记载为 {head_length} 条：第 {length + 1} 条起的记录被删除",
        )  # fmt: skip
    for at, expected in sorted(anchors.items()):
        if hashes_at_anchors.get(at) != expected:
            return Verification(
                False, head_length, len(anchors), at, "anchor_mismatch",
                f"第 {at} 条记录的哈希与锚点不符：审计链在锚定后被重写",
            )  # fmt: skip
    return Verification(True, length, len(anchors), message=f"审计链完整：{length} 条记录，{len(anchors)} 个锚点")


# --- searching and exporting ----------------------------------------------------------------------

COLUMNS = (
    "seq", "at", "action", "result", "reason", "actor_user_id", "actor_name", "actor_org_id", "via",
    "publisher_org_id", "entry_code", "resource_id", "version", "grant_id", "query_digest", "rows", "details",
    "prev_hash", "hash",
)  # fmt: skip


def as_dict(r: Any) -> dict[str, Any]:
    out = {c: getattr(r, c) for c in COLUMNS}
    out["at"] = _canonical_time(r.at)
    return out


def export_lines(session: Session, actor: Actor, fmt: str = "jsonl") -> Iterator[str]:
    """The whole trail, oldest first, as CSV (with a header) or JSON Lines, line by line."""
    require(actor, Permission.AUDIT_TRAIL_READ)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    if fmt == "csv":
        writer.writeheader()
        yield _drain(buffer)
    for r in _records(session):
        row = as_dict(r)
        if fmt == "csv":
            writer.writerow(
                {**row, "details": json.dumps(row["details"], ensure_ascii=False) if row["details"] else ""}
            )
            yield _drain(buffer)
        else:
            yield json.dumps(row, ensure_ascii=False, default=str) + "\n"


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def export(session: Session, actor: Actor, out: IO[str], fmt: str = "jsonl") -> int:
    """Write the whole trail to ``out``; the number of records."""
    count = -1 if fmt == "csv" else 0
    for line in export_lines(session, actor, fmt):
        out.write(line)
        count += 1
    return count


@dataclass
class AuditQuery:
    action: str | None = None
    result: str | None = None
    entry_code: str | None = None
    resource_id: str | None = None
    actor_org_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    offset: int = 0


def search(session: Session, actor: Actor, q: AuditQuery) -> tuple[int, list[AuditRecord]]:
    """Records the actor may see, newest first: the regulator and administrators all of them, a
    publisher every use of its own data, anyone else its own organisation's actions."""
    require(actor, Permission.AUDIT_OWN_READ)
    stmt = select(AuditRecord)
    if not actor.can(Permission.AUDIT_TRAIL_READ):
        if actor.organisation_id is None:
            stmt = stmt.where(AuditRecord.actor_user_id == actor.user_id)
        else:
            org = actor.organisation_id
            stmt = stmt.where((AuditRecord.publisher_org_id == org) | (AuditRecord.actor_org_id == org))
    for column, value in (
        (AuditRecord.action, q.action),
        (AuditRecord.result, q.result),
        (AuditRecord.entry_code, q.entry_code),
        (AuditRecord.resource_id, q.resource_id),
        (AuditRecord.actor_org_id, q.actor_org_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if q.since is not None:
        stmt = stmt.where(AuditRecord.at >= q.since)
    if q.until is not None:
        stmt = stmt.where(AuditRecord.at < q.until)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(AuditRecord.seq.desc()).limit(q.limit).offset(q.offset))
    return total, list(rows)
