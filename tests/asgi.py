"""Driving the application directly over ASGI, for tests that need what an HTTP client won't send
(a body streamed in chosen messages, a declared length the body never reaches)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

Receive = Callable[[], Awaitable[dict[str, Any]]]


def http_scope(method: str, path: str, query: bytes, headers: list[tuple[bytes, bytes]], host: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", host.encode()), *headers],
        "client": ("127.0.0.1", 1),
        "server": (host, 80),
        "state": {},
    }


def run(app: Any, scope: dict[str, Any], receive: Receive) -> list[dict[str, Any]]:
    """Run one request to completion; the messages the app sent. In a thread of its own: the browser
    tests' Playwright keeps an event loop running in the main thread for the rest of the session,
    where asyncio.run would refuse to start another."""
    sent: list[dict[str, Any]] = []
    failure: list[BaseException] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    def main() -> None:
        try:
            asyncio.run(app(scope, receive, send))
        except BaseException as exc:  # re-raised in the test's thread
            failure.append(exc)

    worker = threading.Thread(target=main)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
    return sent
