"""Writing, verifying and searching the audit trail.

``record`` appends one event in the caller's transaction: it first takes the chain's head row with an
``UPDATE`` (a row lock on PostgreSQL, the write lock on SQLite), so appends are chained one at a time;
the new record's hash covers its content and the previous hash. ``refuse`` records a refusal so that
it survives the rollback of the request that was refused (``db.keep_whatever_happens``). Every
``ANCHOR_EVERY`` records an anchor (length and head hash) is written; ``verify`` walks the chain and
says where it breaks: a changed record (its hash no longer matches), an inserted or deleted one (the
sequence or the previous-hash link breaks), a cut tail (the head disagrees) or a rewritten chain
(an anchor disagrees).

The hash is unkeyed and the head and anchors sit in the same database, so whoever can write every row
can rewrite the chain consistently. ``checkpoint`` signs (length, head hash, time) with a key kept
outside the database (``keys``, ``checkpoints``); ``verify(against=…)`` checks that the chain as it is
now extends checkpoints kept elsewhere, which such a rewrite cannot fake.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import IO, Any

from sqlalchemy import Engine, bindparam, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pubdata.audit import checkpoints, keys
from pubdata.audit.errors import ChainBroken, InvalidCheckpoint
from pubdata.audit.models import METERED, AuditAnchor, AuditHead, AuditRecord
from pubdata.authz import Actor, Permission, require
from pubdata.db import keep_whatever_happens, utcnow
from pubdata.errors import PubdataError
from pubdata.settings import Settings, get_settings

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


# SQLite: the metered records' partial index, named (without statistics its planner would search the
# two-valued ``result`` index instead, 4x slower) and read alone; the grants bound as one JSON array
_SQLITE_USAGE = text(f"""
    SELECT grant_id, count(*), coalesce(sum("rows"), 0)
    FROM audit_record INDEXED BY ix_audit_record_grant_metered
    WHERE grant_id IN (SELECT value FROM json_each(:grant_ids)) AND "at" >= :start AND "at" < :end AND {METERED}
    GROUP BY grant_id
""").bindparams(
    bindparam("start", type_=AuditRecord.__table__.c.at.type), bindparam("end", type_=AuditRecord.__table__.c.at.type)
)
SQLITE_READERS = 4  # at most; one connection per core and per ``SQLITE_GRANTS_PER_READER`` grants
SQLITE_GRANTS_PER_READER = 200


def grant_usage(
    session: Session, grant_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, tuple[int, int]]:
    """Calls and rows read under each grant in ``[start, end)``: the allowed records carrying the
    grant, other than the access domain's own (grant issued, revoked). The data market meters its
    entitlements from these — the same records the regulator sees.

    How each database does it fastest (benchmarks/settlement.py): SQLite seeks the partial index of
    the metered records once per grant into the period and reads the index alone; for many grants
    it splits them over a connection per core, as its queries run on one thread each (the grants'
    records of a closed period are committed, which other connections see) — only when the session
    is bound to an engine, not to one connection whose uncommitted writes others could not see.
    PostgreSQL, for many grants, makes one parallel pass over the period's records with a hash
    aggregate (10,000 index seeks measured 10 % slower); for a few, it seeks by grant."""
    ids = sorted(set(grant_ids))
    if not ids:
        return {}
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        chosen = AuditRecord.grant_id.in_(ids) if len(ids) <= 500 else AuditRecord.grant_id.is_not(None)
        stmt = (
            select(AuditRecord.grant_id, func.count(), func.coalesce(func.sum(AuditRecord.rows), 0))
            .where(AuditRecord.at >= start, AuditRecord.at < end, text(METERED), chosen)
            .group_by(AuditRecord.grant_id)
        )
        return _usage(session.execute(stmt), set(ids))
    readers = min(SQLITE_READERS, os.cpu_count() or 1, len(ids) // SQLITE_GRANTS_PER_READER)
    if not isinstance(bind, Engine) or readers < 2:
        return _usage(
            session.execute(_SQLITE_USAGE, {"grant_ids": json.dumps(ids), "start": start, "end": end}), set(ids)
        )
    engine = bind
    size = -(-len(ids) // readers)

    def read(chunk: list[int]) -> dict[int, tuple[int, int]]:
        with engine.connect() as conn:
            found = conn.execute(_SQLITE_USAGE, {"grant_ids": json.dumps(chunk), "start": start, "end": end})
            return _usage(found, set(chunk))

    used: dict[int, tuple[int, int]] = {}
    with ThreadPoolExecutor(readers, thread_name_prefix="grant-usage") as pool:
        for part in pool.map(read, [ids[i : i + size] for i in range(0, len(ids), size)]):
            used.update(part)
    return used


def _usage(rows: Iterable[Any], wanted: set[int]) -> dict[int, tuple[int, int]]:
    return {int(g): (int(calls), int(n or 0)) for g, calls, n in rows if g is not None and g in wanted}


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


REFUSALS = frozenset({403, 404, 409, 413, 422})  # no right, not visible, wrong state, too big, bad input


def refusals_audited(
    action: str, target_key: str | Callable[[Any], str], *, statuses: Collection[int] = REFUSALS
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a service function ``fn(session, actor, target, …)``: a refused attempt (an error
    whose status is in ``statuses``) is recorded as ``action`` with ``{target_key: target}`` — kept
    although the request that carried it rolls back — and the error goes on. ``target_key`` may be
    a function of the target; ``resource_id`` also fills the event's resource."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def run(session: Session, actor: Actor, target: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return fn(session, actor, target, *args, **kwargs)
            except PubdataError as exc:
                if exc.status not in statuses:
                    raise
                key = target_key(target) if callable(target_key) else target_key
                event = Event(action, reason=exc.message, details={key: target, "code": exc.code})
                if key == "resource_id":
                    event.resource_id = target
                refuse(session, actor, event)
                raise

        return run

    return wrap


def anchor(session: Session, actor: Actor) -> AuditAnchor | None:
    """Write an in-database anchor of the chain as it is now (none when the chain is empty). It
    catches only a careless rewrite: whoever can rewrite the chain can rewrite its anchors too, which
    is what the signed checkpoints (``checkpoint``) are for."""
    require(actor, Permission.AUDIT_TRAIL_READ)
    head = session.get(AuditHead, 1)
    if head is None or head.length == 0:
        return None
    out = AuditAnchor(length=head.length, head_hash=head.last_hash)
    session.add(out)
    session.flush()
    return out


def checkpoint(
    session: Session, actor: Actor, settings: Settings | None = None, *, record_anchor: bool = False
) -> checkpoints.Checkpoint:
    """A signed checkpoint of the chain as it is now, to be kept outside the platform. The whole
    chain is verified first, hashes recomputed from the records' content: a broken chain is never
    signed (``ChainBroken``). With ``record_anchor`` the same point is also anchored in the database."""
    require(actor, Permission.AUDIT_TRAIL_READ)
    result, walked = _walk(session)
    if not result.ok:
        raise ChainBroken(f"审计链已损坏，不签发检查点：{result.message}", details=result.as_json())
    key = keys.signing_key(settings or get_settings())
    made = checkpoints.sign(key, walked.length, walked.last_hash, utcnow())
    if record_anchor and made.length > 0:
        session.add(AuditAnchor(length=made.length, head_hash=made.head_hash))
        session.flush()
    return made


def public_key(settings: Settings | None = None) -> dict[str, str]:
    """The public half of the signing key (made on first use): what a regulator pins to verify
    checkpoints without being able to sign one."""
    public = keys.signing_key(settings or get_settings()).public_key()
    return {"key_id": keys.key_id(public), "public_key": keys.public_b64(public), "pem": keys.public_pem(public)}


# --- verifying ------------------------------------------------------------------------------------


@dataclass
class Verification:
    ok: bool
    length: int
    anchors: int
    seq: int | None = None  # where the chain breaks
    # changed | inserted_or_deleted | truncated | anchor_mismatch (the chain itself);
    # bad_checkpoint | bad_signature | checkpoint_truncated | checkpoint_mismatch (against a checkpoint)
    problem: str | None = None
    message: str = ""
    checkpoints: int = 0  # signed checkpoints the chain was checked against

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Walk:
    length: int  # records verified from the start (all of them when the chain is intact)
    last_hash: str  # the recomputed hash of record ``length``
    hashes: dict[int, str]  # recomputed hashes at the lengths asked for
    seq: int | None = None  # the first break, if any
    problem: str | None = None
    message: str = ""


def _follow(rows: Iterable[Any], keep: Collection[int]) -> _Walk:
    """Follow records (oldest first), recomputing each hash from its content; stop at the first break."""
    walked = _Walk(0, GENESIS, {0: GENESIS})
    for r in rows:
        expected = walked.length + 1
        if r.seq != expected or r.prev_hash != walked.last_hash:
            what = f"第 {expected} 条记录缺失" if r.seq > expected else f"第 {r.seq} 条记录与前一条的链接不符"
            walked.seq, walked.problem = expected, "inserted_or_deleted"
            walked.message = f"审计链在第 {expected} 条处断开：{what}（记录被删除或插入）"
            return walked
        recomputed = record_hash(r)
        if recomputed != r.hash:
            walked.seq, walked.problem = r.seq, "changed"
            walked.message = f"审计链在第 {r.seq} 条处断开：记录内容与其哈希不符（记录被修改）"
            return walked
        if r.seq in keep:
            walked.hashes[r.seq] = recomputed
        walked.length, walked.last_hash = r.seq, recomputed
    return walked


_COLUMNS = tuple(AuditRecord.__table__.c)


def _rows(session: Session, upto: int | None = None, batch: int = 5000) -> Iterator[Any]:
    """Records oldest first, as plain rows (no ORM objects to build or to keep)."""
    last = 0
    while True:
        stmt = select(*_COLUMNS).where(AuditRecord.seq > last)
        if upto is not None:
            stmt = stmt.where(AuditRecord.seq <= upto)
        rows = list(session.execute(stmt.order_by(AuditRecord.seq).limit(batch)))
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def _head(session: Session) -> tuple[int, str]:
    row = session.execute(select(AuditHead.length, AuditHead.last_hash).where(AuditHead.id == 1)).first()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)


def _walk(session: Session, want: Collection[int] = ()) -> tuple[Verification, _Walk]:
    """Walk the database's chain up to its head, then check the head and the anchors.

    Records appended while the walk runs lie beyond the head it read first and are left for the next
    walk; a record beyond the head as it is *after* the walk was never chained (the head was set back)."""
    anchors = {a.length: a.head_hash for a in session.scalars(select(AuditAnchor))}
    head_length, head_hash = _head(session)
    walked = _follow(_rows(session, upto=head_length), set(anchors) | set(want))

    def broken(seq: int, problem: str, message: str) -> tuple[Verification, _Walk]:
        return Verification(False, head_length, len(anchors), seq, problem, message), walked

    if walked.problem:
        return broken(walked.seq or 0, walked.problem, walked.message)
    length = walked.length
    if length != head_length or walked.last_hash != head_hash:
        return broken(
            length + 1, "truncated",
            f"审计链只有 {length} 条记录，链头记载为 {head_length} 条：第 {length + 1} 条起的记录被删除",
        )  # fmt: skip
    last_seq = session.scalar(select(func.max(AuditRecord.seq))) or 0
    if last_seq > max(head_length, _head(session)[0]):
        return broken(
            head_length + 1, "inserted_or_deleted",
            f"链头记载为 {head_length} 条，但存在第 {last_seq} 条记录：链头被改回，其后的记录未被链入",
        )  # fmt: skip
    for at, expected in sorted(anchors.items()):
        if walked.hashes.get(at) != expected:
            return broken(at, "anchor_mismatch", f"第 {at} 条记录的哈希与锚点不符：审计链在锚定后被重写")
    message = f"审计链完整：{length} 条记录，{len(anchors)} 个锚点"
    return Verification(True, length, len(anchors), message=message), walked


def _signed_points(
    against: Sequence[str | bytes | dict[str, Any]], public_key: str | None, settings: Settings | None
) -> list[checkpoints.Checkpoint] | Verification:
    """The checkpoints, each signed by the pinned key over exactly its content; or why not."""
    points = []
    for i, data in enumerate(against, 1):
        try:
            points.append(checkpoints.parse(data))
        except InvalidCheckpoint as exc:
            return Verification(False, 0, 0, None, "bad_checkpoint", f"第 {i} 个检查点无法读取：{exc.message}")
    if not points:
        return []
    key = keys.public_from_text(public_key) if public_key else keys.verifying_key(settings or get_settings())
    for i, point in enumerate(points, 1):
        problem = checkpoints.signature_problem(point, key)
        if problem:
            return Verification(False, 0, 0, None, "bad_signature", f"第 {i} 个检查点（{point.at}）：{problem}")
    return points


def _extends(result: Verification, walked: _Walk, points: list[checkpoints.Checkpoint]) -> Verification:
    """Whether the walked chain extends every checkpoint: at least as long, and at each checkpoint's
    length a record whose recomputed hash is the checkpoint's head."""
    result.checkpoints = len(points)
    matched = 0  # the longest checkpoint the chain is known to extend
    for point in sorted(points, key=lambda p: p.length):
        signed = f"{point.at} 签署的检查点（{point.length} 条）"
        if not result.ok and result.seq is not None and result.seq <= point.length:
            result.message += f"；因此不再延续 {signed}"
            return result
        if point.length > walked.length:
            return Verification(
                False, result.length, result.anchors, walked.length + 1, "checkpoint_truncated",
                f"审计链只有 {walked.length} 条记录，短于 {signed}：第 {walked.length + 1} 条起的记录被删除",
                len(points),
            )  # fmt: skip
        if walked.hashes.get(point.length) != point.head_hash:
            return Verification(
                False, result.length, result.anchors, point.length, "checkpoint_mismatch",
                f"第 {point.length} 条记录的哈希与 {signed} 不符：第 {matched + 1}–{point.length} 条记录"
                "在签署后被改写、删除或插入",
                len(points),
            )  # fmt: skip
        matched = point.length
    if result.ok and points:
        latest = max(points, key=lambda p: p.length)
        result.message += f"，延续 {len(points)} 个签名检查点（最近的签署于 {latest.at}，{latest.length} 条）"
    return result


def verify(
    session: Session,
    actor: Actor,
    against: Sequence[str | bytes | dict[str, Any]] = (),
    public_key: str | None = None,
    settings: Settings | None = None,
) -> Verification:
    """Walk the whole chain, recomputing every hash; the first break is reported with its sequence
    number. With ``against`` (signed checkpoints, as JSON), each checkpoint's signature is checked with
    ``public_key`` (PEM or base64; by default the local signing key's) and the chain must extend it:
    hold at least its length, and at that length a record whose recomputed hash is its head. Only
    this catches a rewrite made by someone who could also fix the head and the anchors."""
    require(actor, Permission.AUDIT_TRAIL_READ)
    points = _signed_points(against, public_key, settings)
    if isinstance(points, Verification):
        return points
    result, walked = _walk(session, {p.length for p in points})
    return _extends(result, walked, points)


def verify_trail(
    actor: Actor,
    lines: Iterable[str],
    against: Sequence[str | bytes | dict[str, Any]] = (),
    public_key: str | None = None,
    settings: Settings | None = None,
) -> Verification:
    """Verify an exported trail (JSON Lines, ``export``) without the platform's database: every hash
    recomputed, every link followed, and the trail extending the signed checkpoints. What a regulator
    runs on its own machine with the export, its checkpoints and the pinned public key."""
    require(actor, Permission.AUDIT_TRAIL_READ)
    points = _signed_points(against, public_key, settings)
    if isinstance(points, Verification):
        return points
    bad: list[Verification] = []

    def records() -> Iterator[Any]:
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                data["at"] = datetime.fromisoformat(data["at"])
                if not (isinstance(data["seq"], int) and isinstance(data["prev_hash"], str)):
                    raise TypeError(n)
                yield SimpleNamespace(**{c: data[c] for c in COLUMNS})
            except (ValueError, TypeError, KeyError):
                bad.append(Verification(False, 0, 0, None, "bad_trail", f"导出文件第 {n} 行不是完整的审计记录"))
                return

    walked = _follow(records(), {p.length for p in points})
    if bad:
        return bad[0]
    if walked.problem:
        result = Verification(False, walked.length, 0, walked.seq, walked.problem, walked.message)
    else:
        result = Verification(True, walked.length, 0, message=f"导出的审计链完整：{walked.length} 条记录")
    return _extends(result, walked, points)


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
    for r in _rows(session):
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
    publisher_org_id: int | None = None
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
        (AuditRecord.publisher_org_id, q.publisher_org_id),
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
