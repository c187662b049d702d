"""Metering a grant's use from the audit trail (``audit.grant_usage``): what counts, and the same
answer whichever way the database reads it (one query in the caller's transaction, or on SQLite
the grants split over a connection per core)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pubdata.audit import service as audit
from pubdata.authz import SYSTEM
from pubdata.db import session_scope, utcnow
from tests.conftest import fresh_engine


def _reads(session, grant_id: int, n: int, *, rows: int = 2, action: str = "rows.read", result: str = "allowed"):
    for _ in range(n):
        event = audit.Event(action, grant_id=grant_id, rows=rows)
        event.result = result
        audit.record(session, SYSTEM, event)


def _world(session) -> dict[int, tuple[int, int]]:
    """Forty grants with known use; each also has records that must not count."""
    expected = {}
    for g in range(1, 41):
        calls = g % 7
        _reads(session, g, calls, rows=g)
        _reads(session, g, 1, result="refused")  # refused: not metered
        _reads(session, g, 1, action="access.approve")  # the grant issued: not a read
        if calls:
            expected[g] = (calls, calls * g)
    return expected


@pytest.fixture
def committed(tmp_path) -> Engine:
    engine = fresh_engine(tmp_path, "grant_usage")
    yield engine
    engine.dispose()


def test_only_allowed_reads_in_the_period_count(session):
    expected = _world(session)
    now = utcnow()
    assert audit.grant_usage(session, range(1, 50), now - timedelta(hours=1), now + timedelta(hours=1)) == expected
    assert audit.grant_usage(session, range(1, 50), now + timedelta(hours=1), now + timedelta(hours=2)) == {}
    assert audit.grant_usage(session, [3, 5], now - timedelta(hours=1), now + timedelta(hours=1)) == {
        3: expected[3], 5: expected[5]
    }  # fmt: skip


def test_grants_split_over_several_connections_give_the_same_answer(committed, monkeypatch):
    with session_scope(committed) as s:
        expected = _world(s)
    now = utcnow()
    period = (now - timedelta(hours=1), now + timedelta(hours=1))
    with committed.connect() as conn, Session(bind=conn) as one_connection:  # as the tests' own sessions are
        serial = audit.grant_usage(one_connection, range(1, 41), *period)
    monkeypatch.setattr(audit, "SQLITE_GRANTS_PER_READER", 10)  # forty grants: up to four readers
    monkeypatch.setattr(audit.os, "cpu_count", lambda: 4)
    readers: list[int] = []
    pool = audit.ThreadPoolExecutor
    monkeypatch.setattr(audit, "ThreadPoolExecutor", lambda n, **kw: readers.append(n) or pool(n, **kw))
    with session_scope(committed) as s:
        split = audit.grant_usage(s, range(1, 41), *period)
    assert serial == split == expected
    assert readers == ([4] if committed.dialect.name == "sqlite" else [])
