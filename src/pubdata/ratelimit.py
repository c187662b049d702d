"""One fixed-window counter for rate limits: count first, atomically, then refuse past the limit.

``take(session, model, key, window, limit)`` adds one call to the counter row ``key`` + ``window`` of
``model`` (a table with a ``calls`` column) with one ``UPDATE … SET calls = calls + 1 WHERE calls + 1
<= limit``; the first call of a window inserts the row (another process inserting it first is an
``IntegrityError``, and the update is tried again). However many callers run at once, no more than
``limit`` calls are ever counted in a window — there is no read-then-write gap to race through."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


def counted_apart(session: Session, count: Callable[[Session], bool]) -> bool:
    """Run ``count`` in a short transaction of its own, committed at once: the count stands whether
    the request then fails or not, and the counter row is locked for a moment, not for the whole
    request. The request must not have written yet (on SQLite its own write lock would block this
    one): writes a request makes go last (``db.keep_whatever_happens``). A session inside a
    transaction it does not own (bound to a connection, as tests bind theirs) counts in it instead."""
    bind = session.get_bind()
    if not isinstance(bind, Engine):
        return count(session)
    with Session(bind) as own:
        done = count(own)
        own.commit()
    return done


def take(session: Session, model: Any, key: dict[str, Any], window: str, limit: int) -> bool:
    """Count one call in the window if the limit allows it; whether it did (nothing counted if not)."""
    where = [getattr(model, name) == value for name, value in key.items()] + [model.window == window]
    stmt = update(model).where(*where, model.calls + 1 <= limit).values(calls=model.calls + 1)
    if session.execute(stmt).rowcount == 1:  # type: ignore[attr-defined]
        return True
    if limit < 1:
        return False
    try:
        with session.begin_nested():
            session.add(model(**key, window=window, calls=1))
        return True
    except IntegrityError:  # the row exists: full, or opened by another caller a moment ago
        return session.execute(stmt).rowcount == 1  # type: ignore[attr-defined]
