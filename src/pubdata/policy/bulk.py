"""Bulk writes of many plain rows (a million match results): ``COPY`` on PostgreSQL through psycopg,
one executemany of ready-made tuples elsewhere (SQLite), never an ORM object per row."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import DateTime, Table
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator


def insert_rows(session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert ``rows`` (tuples in ``columns`` order; datetimes aware, in UTC) and return how many.
    Values go to the driver as they are: only types every driver adapts (str, int, bool, None,
    datetime)."""
    conn = session.connection()
    dialect = conn.dialect
    names = ", ".join(f'"{c}"' for c in columns)
    driver: Any = conn.connection.driver_connection
    count = 0
    if dialect.name == "postgresql" and dialect.driver == "psycopg" and driver is not None:
        with driver.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    if dialect.paramstyle == "qmark":
        marks = ", ".join("?" for _ in columns)
    elif dialect.paramstyle in ("format", "pyformat"):
        marks = ", ".join("%s" for _ in columns)
    else:  # pragma: no cover - every dialect pubdata runs on is one of the above
        marks = ""
    if not marks:  # pragma: no cover
        batch = [dict(zip(columns, r, strict=True)) for r in rows]
        if batch:
            conn.execute(table.insert(), batch)
        return len(batch)
    # datetimes as the dialect stores them (SQLite: SQLAlchemy's text format, which the ORM reads back)
    processors = {
        i: table.c[c].type.dialect_impl(dialect).bind_processor(dialect)
        for i, c in enumerate(columns)
        if isinstance(table.c[c].type, DateTime)
        or (isinstance(table.c[c].type, TypeDecorator) and isinstance(getattr(table.c[c].type, "impl", None), DateTime))
    }
    done: dict[Any, Any] = {}  # a run writes the same few timestamps on every row: convert each once
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'
    chunk: list[Sequence[Any]] = []
    for row in rows:
        if processors:
            values = list(row)
            for i, proc in processors.items():
                if proc is not None and values[i] is not None:
                    key = (i, values[i])
                    if key not in done:
                        done[key] = proc(values[i])
                    values[i] = done[key]
            row = values
        chunk.append(tuple(row))
        if len(chunk) >= 50_000:
            conn.exec_driver_sql(sql, chunk)
            count += len(chunk)
            chunk = []
    if chunk:
        conn.exec_driver_sql(sql, chunk)
        count += len(chunk)
    return count
