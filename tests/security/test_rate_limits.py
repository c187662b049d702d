"""Rate limits count first, atomically: concurrent calls never get past the rate (issue 11 §5)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from pubdata.app import create_app
from pubdata.authz import Actor
from pubdata.db import new_session, session_scope, write_durable
from pubdata.errors import RateLimited
from pubdata.identity import machines
from pubdata.identity import service as identity
from pubdata.identity.models import TokenUsage
from tests import builders
from tests.concurrency import together
from tests.conftest import fresh_engine

RATE = 5


@pytest.fixture
def token_actor(tmp_path: Path) -> Iterator[tuple[Engine, Actor, str]]:
    """A database of its own with a committed user and API token; the actor calling with the token."""
    engine = fresh_engine(tmp_path, name=f"rate_{uuid.uuid4().hex[:8]}")
    with session_scope(engine) as s:
        user = builders.make_user(s, builders.make_org(s, "bank"), roles=["bank"])
        token, secret = identity.create_token(s, builders.actor_of(user), name="t", scopes=["read"])
        s.flush()
        actor = identity.actor_for(user, via="token", token_id=token.id)
    yield engine, actor, secret
    engine.dispose()


def _call(engine: Engine, actor: Actor, *, fail: bool = False) -> bool:
    """One request, as the API's request session runs it (``api.deps.db_session``): charge the token,
    then commit — or fail, roll back and keep the durable writes."""
    session = new_session(engine)
    try:
        machines.charge_token(session, actor, RATE)
        if fail:
            raise RuntimeError("the request fails after the charge")
        write_durable(session)
        session.commit()
        return True
    except BaseException as exc:
        session.rollback()
        if write_durable(session):
            session.commit()
        if isinstance(exc, RateLimited):
            return False
        raise
    finally:
        session.close()


def test_concurrent_calls_never_get_past_the_token_rate(token_actor):
    engine, actor, _ = token_actor
    n = 16
    results = together(n, lambda: _call(engine, actor))
    assert results.count(True) == RATE, results
    assert results.count(False) == n - RATE, results
    with session_scope(engine) as s:
        assert s.scalar(select(TokenUsage.calls).where(TokenUsage.token_id == actor.token_id)) == RATE


def test_a_failed_request_still_counts_and_a_refused_one_does_not(token_actor):
    engine, actor, _ = token_actor
    with pytest.raises(RuntimeError):
        _call(engine, actor, fail=True)
    assert [_call(engine, actor) for _ in range(RATE)] == [True] * (RATE - 1) + [False]
    with session_scope(engine) as s:
        assert s.scalar(select(TokenUsage.calls).where(TokenUsage.token_id == actor.token_id)) == RATE


def test_the_api_refuses_a_token_past_its_rate(token_actor, settings):
    """Through the API's own request sessions (a token's requests, each in its own transaction)."""
    engine, _, secret = token_actor
    client = TestClient(create_app(settings.model_copy(update={"token_rate_per_minute": RATE}), engine))
    headers = {"Authorization": f"Bearer {secret}"}
    codes = [client.get("/api/v1/me", headers=headers).status_code for _ in range(RATE + 1)]
    assert codes == [200] * RATE + [429]


# --- a grant's rate and daily call quota: the same counter, taken first --------------------------


@pytest.fixture
def grant_world(tmp_path: Path, settings) -> Iterator[tuple[Engine, str, Actor, Actor]]:
    """A database of its own with committed data: the people table, a consumer under a per-minute
    rate of RATE and another under a daily call quota of RATE."""
    from tests.access.people import grant, load_people

    engine = fresh_engine(tmp_path, name=f"grant_rate_{uuid.uuid4().hex[:8]}")
    with session_scope(engine) as s:

        def actor(role: str, kind: str) -> Actor:
            return builders.actor_of(builders.make_user(s, builders.make_org(s, kind), roles=[role]))

        people = load_people(s, actor("department", "department"), settings.home, tmp_path)
        operator = actor("operator", "operator")
        rated, daily = actor("bank", "bank"), actor("bank", "bank")
        fields = ["name", "district", "amount"]
        grant(s, rated, operator, people, fields, operator_terms={"rate_per_minute": RATE})
        grant(s, daily, operator, people, fields, operator_terms={"daily_call_quota": RATE})
    yield engine, people.resource_id, rated, daily
    engine.dispose()


@pytest.mark.parametrize("who", ["rated", "daily"])
def test_concurrent_reads_never_get_past_a_grants_call_limits(grant_world, settings, who):
    """The grant's limits were checked, then counted as the request ended: 16 readers released at
    once all got through a rate of 5."""
    from pubdata.store.query import rows as query

    engine, resource_id, rated, daily = grant_world
    reader = rated if who == "rated" else daily
    n = 16

    def read() -> object:
        with session_scope(engine) as s:
            return query.read_rows(s, reader, resource_id, query.RowQuery(limit=5), home=settings.home)

    results = together(n, read)
    refused = [r for r in results if isinstance(r, RateLimited)]  # QuotaExceeded is a RateLimited (429)
    assert len(refused) == n - RATE, results
    assert all(not isinstance(r, Exception) or isinstance(r, RateLimited) for r in results), results
