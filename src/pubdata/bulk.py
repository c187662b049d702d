"""Bulk writes of many plain rows (a million match results, the catalogue's search index): ``COPY``
on PostgreSQL through psycopg, one executemany of ready-made tuples elsewhere (SQLite), never an ORM
object per row."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import DateTime, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator


def _driver_value(table: Table, column: str, value: Any, dialect: Dialect) -> Any:
    """``value`` as the driver takes it: datetimes as the dialect stores them (SQLite: the text
    format SQLAlchemy writes and reads back), everything else as it is."""
    kind = table.c[column].type
    if value is None:
        return None
    if isinstance(kind, DateTime) or (
        isinstance(kind, TypeDecorator) and isinstance(getattr(kind, "impl", None), DateTime)
    ):
        processor = kind.dialect_impl(dialect).bind_processor(dialect)
        return processor(value) if processor is not None else value
    return value


def insert_rows(
    session: Session,
    table: Table,
    columns: Sequence[str],
    batches: Iterable[Sequence[Sequence[Any]]],
    *,
    constants: Mapping[str, Any] | None = None,
) -> int:
    """Insert rows given in batches (tuples in ``columns`` order: str, int, bool or None) with the
    same ``constants`` (e.g. the run's id and time) on every row; returns how many."""
    conn = session.connection()
    dialect = conn.dialect
    constants = dict(constants or {})
    names = ", ".join(f'"{c}"' for c in [*columns, *constants])
    driver: Any = conn.connection.driver_connection
    count = 0
    if dialect.name == "postgresql" and dialect.driver == "psycopg" and driver is not None:
        tail = tuple(constants.values())
        with driver.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for batch in batches:
                for row in batch:
                    copy.write_row((*row, *tail))
                count += len(batch)
        return count
    tail = tuple(_driver_value(table, c, v, dialect) for c, v in constants.items())
    mark = "?" if dialect.paramstyle == "qmark" else "%s"  # sqlite3; psycopg without COPY
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join(mark for _ in [*columns, *constants])})'
    for batch in batches:
        if batch:
            conn.exec_driver_sql(sql, [(*row, *tail) for row in batch])
            count += len(batch)
    return count
