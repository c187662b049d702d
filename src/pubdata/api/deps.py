"""Request dependencies shared by the native API, the CKAN API and the portal: the database session
(commit on success, roll back on error) and who the actor is (API token or portal session).

The API also accepts the portal's session cookie (the portal's links to downloads and exports rely
on it), but a state-changing call (any method but GET, HEAD, OPTIONS) to ``/api/…`` authenticated by
the cookie must carry the login session's CSRF token in ``X-CSRF-Token`` — the same token the
portal's forms carry — or it is refused (403 ``auth.csrf_failed``): a cross-site page can make the
browser send the cookie, never read the token. Bearer tokens need no CSRF token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import WithJsonSchema
from sqlalchemy.orm import Session

from pubdata.api.params import enum_item
from pubdata.authz import ANONYMOUS, Actor
from pubdata.catalog import vocab
from pubdata.db import new_session, write_durable
from pubdata.identity import machines
from pubdata.identity import service as identity

SESSION_COOKIE = "pubdata_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def db_session(request: Request) -> Iterator[Session]:
    session = new_session(request.app.state.engine)
    try:
        yield session
        write_durable(session)
        session.commit()
    except BaseException:
        session.rollback()
        if write_durable(session):  # e.g. the audit record of a refusal
            session.commit()
        raise
    finally:
        session.close()


def token_from_request(request: Request) -> str | None:
    """The API token from ``Authorization: Bearer …`` (or a bare token, as CKAN clients send it)
    or ``X-CKAN-API-Key``."""
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        return value.strip() if scheme.lower() in ("bearer", "token") and value else auth.strip()
    return request.headers.get("x-ckan-api-key") or None


def resolve_actor(request: Request, session: Session) -> Actor:
    token = token_from_request(request)
    if token:
        actor = identity.actor_from_token(session, token)  # an invalid token is an error, never anonymous
        machines.charge_token(session, actor, request.app.state.settings.token_rate_per_minute)
        return actor
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        login = identity.find_login_session(session, cookie)
        if login is not None:
            if request.method not in SAFE_METHODS and request.url.path.startswith("/api/"):
                identity.check_login_csrf(login, request.headers.get(CSRF_HEADER))
            request.state.login = login
            return identity.actor_for(login.user, via="session")
    return ANONYMOUS


# The request's session commits when the route function returns, *before* the response is sent
# ("function" scope): a client that gets a response (or follows a redirect) reads what it wrote.
# A streamed response that needs the database opens a session of its own.
SessionDep = Depends(db_session, scope="function")


async def current_actor(request: Request, session: Session = SessionDep) -> Actor:
    """Who is asking. Without a token or a session cookie that is the anonymous actor, decided here
    in the event loop; otherwise the lookup (database work) runs in the thread pool."""
    if token_from_request(request) or request.cookies.get(SESSION_COOKIE):
        actor = await run_in_threadpool(resolve_actor, request, session)
    else:
        actor = ANONYMOUS
    request.state.actor = actor
    return actor


async def data_home(request: Request) -> Path:
    """The platform's data directory (``PUBDATA_HOME``): where the store keeps its versions (async:
    nothing to wait for, so no trip through the thread pool)."""
    return Path(request.app.state.settings.home)


DB = Annotated[Session, SessionDep]
Home = Annotated[Path, Depends(data_home)]
ActorDep = Annotated[Actor, Depends(current_actor)]
FilterParam = Annotated[list[str] | None, Query()]


def _codes_and_labels(terms: tuple[vocab.Term, ...]) -> WithJsonSchema:
    """A vocabulary filter's values: each term by its code or its Chinese label."""
    return enum_item([v for t in terms for v in (t.code, t.label)])


CategoryFilter = Annotated[list[Annotated[str, _codes_and_labels(vocab.CATEGORIES)]] | None, Query()]
OpenTypeFilter = Annotated[list[Annotated[str, _codes_and_labels(vocab.OPEN_TYPES)]] | None, Query()]
GradeFilter = Annotated[list[Annotated[str, _codes_and_labels(vocab.SECURITY_GRADES)]] | None, Query()]
FrequencyFilter = Annotated[list[Annotated[str, _codes_and_labels(vocab.UPDATE_FREQUENCIES)]] | None, Query()]


class CatalogFilters:
    """The catalogue's seven filters as query parameters, shared by search, facets and DCAT. Each may
    repeat: OR within a filter, AND across filters; values by code or Chinese label."""

    def __init__(
        self,
        category: CategoryFilter = None,
        organisation: FilterParam = None,
        open_type: OpenTypeFilter = None,
        security_grade: GradeFilter = None,
        update_frequency: FrequencyFilter = None,
        district: FilterParam = None,
        tags: FilterParam = None,
    ) -> None:
        given = {
            "category": category,
            "organisation": organisation,
            "open_type": open_type,
            "security_grade": security_grade,
            "update_frequency": update_frequency,
            "district": district,
            "tags": tags,
        }
        self.values: dict[str, list[str]] = {name: values for name, values in given.items() if values}


Filters = Annotated[CatalogFilters, Depends()]
