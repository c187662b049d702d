"""Test database: migrations run once per worker; each test runs in a transaction rolled back after.

SQLite by default; PostgreSQL when PUBDATA_TEST_DATABASE_URL is set (each xdist worker gets its own
schema)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from pubdata.api.deps import db_session
from pubdata.app import create_app
from pubdata.authz import Actor
from pubdata.db import has_durable_writes, make_engine, migrate, write_durable
from pubdata.settings import Settings
from tests import builders
from tests.builders import settings_for
from tests.live import LiveServer


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def database_url(tmp_root: Path, name: str = "main") -> str:
    base = os.environ.get("PUBDATA_TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp_root / 'test.sqlite3'}"
    schema = f"t_{_worker()}_{name}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


def fresh_engine(tmp_root: Path, name: str = "main") -> Engine:
    """A migrated, empty database of the configured kind (``name`` keeps PostgreSQL schemas apart)."""
    engine = make_engine(database_url(tmp_root, name))
    migrate(engine)
    return engine


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = fresh_engine(tmp_path_factory.mktemp("db"))
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("home")
    return settings_for(home)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    connection = engine.connect()
    trans = connection.begin()
    sess = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield sess
    finally:
        sess.close()
        trans.rollback()
        connection.close()


@pytest.fixture
def app(settings: Settings, engine: Engine, session: Session):  # type: ignore[no-untyped-def]
    application = create_app(settings, engine)

    def _db() -> Iterator[Session]:
        # each request in a savepoint: an error rolls back the request, not the test's set-up
        nested = session.begin_nested()
        try:
            yield session
            write_durable(session)
            if nested.is_active:
                nested.commit()
        except BaseException:
            if nested.is_active:
                nested.rollback()
            if has_durable_writes(session):  # e.g. the audit record of a refusal
                with session.begin_nested():
                    write_durable(session)
            raise

    application.dependency_overrides[db_session] = _db
    return application


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        yield c


ROLE_ORG_KIND = {
    "department": "department",
    "operator": "operator",
    "admin": "operator",
    "enterprise": "enterprise",
    "bank": "bank",
    "data_merchant": "data_merchant",
    "appraiser": "appraisal_agency",
    "regulator": "regulator",
    "finance": "operator",
    "trustee": "trust_company",
}


@pytest.fixture
def as_actor(session: Session) -> Callable[..., Actor]:
    """``as_actor("department")`` makes an organisation and a user with that role; returns the actor.
    ``as_actor("anonymous")`` is the public."""

    def make(role: str, org=None) -> Actor:  # type: ignore[no-untyped-def]
        if role == "anonymous":
            return Actor()
        org = org or builders.make_org(session, ROLE_ORG_KIND[role])
        user = builders.make_user(session, org, roles=[role])
        return builders.actor_of(user)

    return make


@pytest.fixture
def token_for(session: Session) -> Callable[..., str]:
    """An API token secret for the actor (scopes default to read + catalog:write where the role has it)."""
    from pubdata.authz import SYSTEM, scopes_available_to
    from pubdata.identity import service

    def make(actor: Actor, scopes: list[str] | None = None, days: int = 30) -> str:
        default = [s for s in ("read", "catalog:write") if s in scopes_available_to(actor.roles)]
        _, secret = service.create_token(
            session,
            SYSTEM,
            name="test",
            scopes=scopes or default,
            days=days,
            username=actor.username,
        )
        return secret

    return make


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real uvicorn server over a fresh database for this test module. Set up data with
    ``with live_server.session() as s: ...`` (committed)."""
    from tests.live import run_server

    root = tmp_path_factory.mktemp("live")
    eng = fresh_engine(root, name=root.name.replace("-", "_").lower())
    with run_server(eng, root / "home") as server:
        yield server
    eng.dispose()
