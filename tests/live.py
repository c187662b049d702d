"""A real HTTP server (uvicorn in a thread) over its own migrated database, for tests that use real
clients (ckanapi, Playwright, httpx). Data is committed, so each server gets a fresh database."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pubdata.app import create_app
from pubdata.db import session_scope
from pubdata.server import Utf8TargetH11Protocol
from pubdata.settings import Settings


@dataclass
class LiveServer:
    url: str
    engine: Engine
    settings: Settings

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A committed transaction on the server's database (to set up data)."""
        with session_scope(self.engine) as s:
            yield s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def run_server(engine: Engine, home: Path, setup: Callable[[Session], None] | None = None) -> Iterator[LiveServer]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(home=home, secret_key="live-test-secret", base_url=url)
    if setup is not None:
        with session_scope(engine) as s:
            setup(s)
    config = uvicorn.Config(
        create_app(settings, engine), host="127.0.0.1", port=port, http=Utf8TargetH11Protocol, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(url + "/api/3/action/status_show", timeout=1)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise RuntimeError("live server did not start") from None
            time.sleep(0.05)
    try:
        yield LiveServer(url, engine, settings)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
