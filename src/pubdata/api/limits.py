"""Limits every HTTP request meets before a route runs (ASGI middleware, installed by ``app.py``).

- ``BodyLimit``: a request body may carry at most ``settings.request_max_bytes`` (JSON API bodies,
  CKAN actions, portal forms). A declared ``Content-Length`` over the limit is refused when the route
  first asks for the body, before a byte is read; a streamed body is counted as it arrives and
  refused once it passes the limit — either way it is never parsed. Routes that stream a body to
  disk under a limit of their own (uploads: ``settings.upload_max_bytes``, policy materials) raise
  the request's limit with ``allow_body`` before reading.
- ``ConcurrencyLimit``: one caller (an API token, a login session, else the client address) may
  have ``settings.caller_max_concurrent`` requests in progress at once (more: 429 with
  ``Retry-After``), and the process ``settings.server_max_concurrent`` in all (more: 503 with
  ``Retry-After``), so that one caller cannot hold every worker thread and database connection.
  The counts are per process: with N processes or replicas a caller may have N times as many.

- ``AnalyticQueue``: at most ``settings.analytic_max_concurrent`` analytic queries (SQL and sandbox
  aggregates, on every surface) run at once in a process; the others wait their turn in order of
  arrival, up to ``settings.analytic_queue_wait_s`` (then 503 with ``Retry-After``). They wait before
  the route runs, holding no database connection and no worker thread: an aggregate holds its
  request's connection while DuckDB works (a privacy budget spent commits with the answer), so 32 of
  them at once over a 17.9M-row table on two cores used up the connection pool and were refused
  (``server.db_busy``) — and would have refused row pages and searches too.

Refusals are domain errors (``TooLarge``, ``RateLimited``, ``Unavailable``) rendered by the same
renderers as every other error: the API's JSON, CKAN's envelope, the portal's page.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pubdata.api.deps import SESSION_COOKIE
from pubdata.errors import PubdataError, RateLimited, TooLarge, Unavailable

BODY_LIMIT_KEY = "pubdata.body_limit"
RETRY_AFTER_S = 1  # a slot frees as soon as any request of the caller (or of anyone) finishes
UNLIMITED_PATHS = ("/static/",)  # files a page loads in parallel; cheap, cached by the browser
NO_BODY_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})

Render = Callable[[Request, PubdataError], Awaitable[Response]]


def allow_body(request: Request, limit: int) -> None:
    """Let this request's body grow to ``limit`` bytes: for a route that streams it to disk and
    enforces that limit itself (uploads). Call it before reading the body."""
    request.scope[BODY_LIMIT_KEY] = limit


class BodyTooLarge(StarletteHTTPException):
    """Raised by the body counter from inside ``receive``: an HTTP exception, so that the framework's
    body parsing passes it through; the app renders its ``error`` like any domain error."""

    def __init__(self, error: TooLarge) -> None:
        super().__init__(status_code=413, detail=error.message)
        self.error = error


def body_too_large(limit: int, *, default: bool) -> TooLarge:
    setting = "，见设置 PUBDATA_REQUEST_MAX_BYTES" if default else ""
    return TooLarge(
        f"请求体过大：最多 {limit} 字节（{_size(limit)}{setting}）；批量数据请用文件上传",
        code="request.body_too_large",
        details={"limit_bytes": limit},
    )


def _size(n: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= factor:
            return f"{n / factor:g} {unit}"
    return f"{n} 字节"


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int, render: Render) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes and scope["method"] in NO_BODY_METHODS:
            # no route reads such a body: refuse before routing (a streamed response would otherwise
            # meet the refusal while it listens for the client going away)
            error = body_too_large(self.max_bytes, default=True)
            await (await self.render(Request(scope), error))(scope, receive, send)
            return
        seen = 0
        refused = False

        async def limited() -> Message:
            nonlocal seen, refused
            limit = scope.get(BODY_LIMIT_KEY, self.max_bytes)
            if refused or (declared is not None and declared > limit):
                refused = True
                if declared is not None and declared <= 2 * limit:
                    await _drain(receive, 2 * limit)  # a modest excess: read it, so the client sees the answer
                raise BodyTooLarge(body_too_large(limit, default=limit == self.max_bytes))
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    refused = True
                    if message.get("more_body", False):
                        await _drain(receive, limit)
                    raise BodyTooLarge(body_too_large(limit, default=limit == self.max_bytes))
            return message

        await self.app(scope, limited, send)


async def _drain(receive: Receive, budget: int) -> None:
    """Read and drop what is left of a refused body, up to ``budget`` bytes."""
    dropped = 0
    while dropped <= budget:
        message = await receive()
        if message["type"] != "http.request":
            return
        dropped += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def caller_key(scope: Scope) -> str:
    """Who is calling, for the concurrency limit: the credential as presented (a token, a login
    session cookie), else the client address. Nothing is looked up: the limit applies before any
    database work."""
    headers = Headers(scope=scope)
    credential = headers.get("authorization") or headers.get("x-ckan-api-key")
    if credential:
        return "credential:" + hashlib.sha256(credential.encode()).hexdigest()
    cookie = Request(scope).cookies.get(SESSION_COOKIE)
    if cookie:
        return "session:" + hashlib.sha256(cookie.encode()).hexdigest()
    client = scope.get("client")
    return "address:" + (str(client[0]) if client else "unknown")


class ConcurrencyLimit:
    def __init__(self, app: ASGIApp, *, per_caller: int, per_process: int, render: Render) -> None:
        self.app = app
        self.per_caller = per_caller
        self.per_process = per_process
        self.render = render
        # Requests run on the event loop and in worker threads (and a test client may drive several
        # loops): the counts change under a lock.
        self._lock = threading.Lock()
        self._total = 0
        self._by_caller: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key = None if scope["path"].startswith(UNLIMITED_PATHS) else caller_key(scope)
        error = self._enter(key)
        if error is not None:
            await (await self.render(Request(scope), error))(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)  # the slot is held until the response is sent
        finally:
            self._leave(key)

    def _enter(self, key: str | None) -> PubdataError | None:
        with self._lock:
            if key is not None and self.per_caller and self._by_caller.get(key, 0) >= self.per_caller:
                return RateLimited(
                    f"同时进行的请求过多：每个调用方（令牌、登录会话或匿名地址）最多同时 {self.per_caller} 个请求"
                    "（每个进程），请等前面的请求完成后再试",
                    code="request.too_many_concurrent",
                    retry_after=RETRY_AFTER_S,
                )
            if self.per_process and self._total >= self.per_process:
                return Unavailable(
                    f"服务器繁忙：同时处理的请求已达上限 {self.per_process} 个（每个进程），请稍后重试",
                    code="server.busy",
                    retry_after=RETRY_AFTER_S,
                )
            self._total += 1
            if key is not None:
                self._by_caller[key] = self._by_caller.get(key, 0) + 1
        return None

    def _leave(self, key: str | None) -> None:
        with self._lock:
            self._total -= 1
            if key is not None:
                left = self._by_caller[key] - 1
                if left:
                    self._by_caller[key] = left
                else:
                    del self._by_caller[key]


# The analytic queries: user SQL (API, CKAN) and sandbox aggregates (API, the portal's form).
ANALYTIC_PATHS = re.compile(
    r"^/api/(?:v1/sql|(?:3/)?action/datastore_search_sql)/?$"
    r"|^/api/v1/resources/[^/]+/sandbox/?$|^/dataset/[^/]+/resource/[^/]+/sandbox/?$"
)


def analytic(scope: Scope) -> bool:
    """Whether a request runs an analytic query (the portal's sandbox page itself, a GET, does not)."""
    path = scope["path"]
    return bool(ANALYTIC_PATHS.match(path)) and (scope["method"] == "POST" or "/sandbox" not in path)


@dataclass(eq=False)
class _Waiter:
    loop: asyncio.AbstractEventLoop
    turn: asyncio.Future[None]


class AnalyticQueue:
    def __init__(self, app: ASGIApp, *, slots: int, wait_s: float, render: Render) -> None:
        self.app = app
        self.slots = slots
        self.wait_s = wait_s
        self.render = render
        # as ``ConcurrencyLimit``: requests may come from several event loops (a test client's), so the
        # queue changes under a lock and a turn is handed over with ``call_soon_threadsafe``
        self._lock = threading.Lock()
        self._running = 0
        self._waiting: deque[_Waiter] = deque()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.slots or not analytic(scope):
            await self.app(scope, receive, send)
            return
        if not await self._enter():
            refused = Unavailable(
                f"服务器繁忙：分析查询（SQL、沙箱聚合）排队超过 {self.wait_s:g} 秒"
                f"（每个进程同时运行 {self.slots} 个），请稍后重试",
                code="server.busy",
                retry_after=RETRY_AFTER_S,
            )
            await (await self.render(Request(scope), refused))(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._leave()

    async def _enter(self) -> bool:
        """Wait for a turn (True), or give up after ``wait_s`` (False)."""
        loop = asyncio.get_running_loop()
        me = _Waiter(loop, loop.create_future())
        with self._lock:
            if self._running < self.slots and not self._waiting:
                self._running += 1
                return True
            self._waiting.append(me)
        try:
            await asyncio.wait_for(asyncio.shield(me.turn), self.wait_s)
            return True
        except TimeoutError:
            return not self._withdraw(me)  # a turn handed over as the wait ended is ours
        except asyncio.CancelledError:  # the client went away
            if not self._withdraw(me):
                self._leave()  # pass on the turn it was handed
            raise

    def _withdraw(self, me: _Waiter) -> bool:
        """Leave the queue; False when a turn was already handed to ``me`` (it counts as running)."""
        with self._lock:
            if me in self._waiting:
                self._waiting.remove(me)
                return True
            return False

    def _leave(self) -> None:
        with self._lock:
            self._running -= 1
            while self._waiting and self._running < self.slots:
                nxt = self._waiting.popleft()
                self._running += 1
                nxt.loop.call_soon_threadsafe(_give_turn, nxt.turn)


def _give_turn(turn: asyncio.Future[None]) -> None:
    if not turn.done():
        turn.set_result(None)
