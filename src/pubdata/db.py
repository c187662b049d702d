"""Engine, sessions and migrations for the metadata database (SQLite WAL by default, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from pubdata.settings import Settings, get_settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


def utcnow() -> datetime:
    return datetime.now(UTC)


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver the project installs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True)
class PoolLimits:
    """How many connections a process holds and how long a request waits for one. Past the wait,
    SQLAlchemy raises ``TimeoutError``, which the app answers with 503 and ``Retry-After``."""

    size: int = 10
    overflow: int = 20
    timeout_s: float = 3.0

    @classmethod
    def from_settings(cls, settings: Settings) -> PoolLimits:
        return cls(settings.db_pool_size, settings.db_max_overflow, settings.db_pool_timeout_s)


def make_engine(url: str, *, echo: bool = False, pool: PoolLimits | None = None) -> Engine:
    url = normalise_url(url)
    pool = pool or PoolLimits()
    sizing: dict[str, Any] = {"pool_size": pool.size, "max_overflow": pool.overflow, "pool_timeout": pool.timeout_s}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        else:
            sizing = {}  # an in-memory database has one connection per thread, no queue
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}, **sizing)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, **sizing)


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    return make_engine(settings.resolved_database_url, echo=settings.sql_echo, pool=PoolLimits.from_settings(settings))


def forget_engine() -> None:
    """Close the cached engine's idle connections and forget it, so that the next ``get_engine``
    follows changed settings (a CLI command pointed at another home). Only clearing the cache left
    the old pool's connections open for the life of the process: PostgreSQL counts them against
    ``max_connections``."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    _sessionmaker.cache_clear()


# PostgreSQL refusing or dropping connections: connection exceptions, too many clients, starting up
_UNAVAILABLE_SQLSTATES = ("08", "53300", "57P03")


def unreachable(exc: OperationalError) -> bool:
    """Whether the database could not be reached or was too busy to take the statement, as opposed
    to a statement that failed: a new connection refused (PostgreSQL's "too many clients", the
    server down or restarting, which psycopg reports with no SQLSTATE, or a connection-class
    SQLSTATE) or SQLite still locked by another writer after its busy timeout."""
    orig = exc.orig
    sqlite_error = getattr(orig, "sqlite_errorname", None)
    if sqlite_error is not None:
        return sqlite_error in ("SQLITE_BUSY", "SQLITE_LOCKED")
    sqlstate = getattr(orig, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith(_UNAVAILABLE_SQLSTATES)


@lru_cache
def _sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def new_session(engine: Engine | None = None) -> Session:
    return _sessionmaker(engine or get_engine())()


_DURABLE = "pubdata_durable_writes"


def keep_whatever_happens(session: Session, write: Callable[[Session], object]) -> None:
    """Queue ``write(session)`` to be committed whether this transaction commits or rolls back — for
    what must outlive a refused request, such as the audit record of the refusal. The transaction
    boundaries (``session_scope``, the API's request session) run the queue: before the commit, or
    in a fresh transaction after the rollback."""
    session.info.setdefault(_DURABLE, []).append(write)


def write_durable(session: Session) -> bool:
    """Run the queued durable writes (the boundary then commits); whether there were any."""
    writes = session.info.pop(_DURABLE, [])
    for write in writes:
        write(session)
    return bool(writes)


def has_durable_writes(session: Session) -> bool:
    return bool(session.info.get(_DURABLE))


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error (keeping the durable writes)."""
    session = new_session(engine)
    try:
        yield session
        write_durable(session)
        session.commit()
    except BaseException:
        session.rollback()
        if write_durable(session):
            session.commit()
        raise
    finally:
        session.close()


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    migrations = Path(__file__).parent / "migrations"
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: Engine | None = None, settings: Settings | None = None) -> None:
    """Bring the schema to the newest Alembic revision."""
    from alembic import command

    engine = engine or get_engine()
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
