"""Real server processes for the fault tests: ``pubdata serve --no-workers`` over a home and a database,
its output in a log file the test can watch, stopped with SIGTERM or killed with SIGKILL. The waiting
helpers are tests/test_worker_processes.py's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from pubdata.authz import SYSTEM, Role, scopes_available_to
from pubdata.db import session_scope
from pubdata.identity import service as identity
from tests.test_worker_processes import _answers, _free_port, _wait

__all__ = ["Server", "serve", "token_for", "wait_for"]
wait_for = _wait


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def said(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no rollback by the process; the database sees its connections drop."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


@contextmanager
def serve(home: Path, url: str, log: Path, **settings: str) -> Iterator[Server]:
    """A server process (``PUBDATA_<NAME>`` from ``settings``), answering before this yields."""
    env = {**os.environ, "PUBDATA_HOME": str(home), "PUBDATA_DATABASE_URL": url, "PUBDATA_SEARCH_WARMUP": "false"}
    env.update({f"PUBDATA_{k.upper()}": v for k, v in settings.items()})
    port = _free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "pubdata.cli", "serve", "--no-workers", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait(lambda: _answers(server.url + "/api/v1/") or process.poll() is not None, 90, "the server to answer")
        assert process.poll() is None, server.said()[-3000:]
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def token_for(engine: Engine, username: str) -> str:
    """An API token of ``username`` with every scope its roles allow (but admin)."""
    with session_scope(engine) as s:
        user = identity.get_user(s, username)
        scopes = sorted(scopes_available_to(frozenset(Role(r) for r in user.role_list)) - {"admin"})
        _, secret = identity.create_token(s, SYSTEM, name="reliability", scopes=scopes, days=1, username=username)
    return secret
