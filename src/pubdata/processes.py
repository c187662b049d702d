"""Naming the process doing a piece of work, and telling whether it has died: a job's or a fill's
``worker`` is ``host:pid[:tag]``."""

from __future__ import annotations

import os
import secrets
import socket


def process_name(*, tagged: bool = True) -> str:
    """This process as ``host:pid`` (``host:pid:random`` when ``tagged``: two runners of one process
    stay apart)."""
    name = f"{socket.gethostname()}:{os.getpid()}"
    return f"{name}:{secrets.token_hex(4)}" if tagged else name


def is_gone(worker: str | None) -> bool:
    """True if ``worker`` names a process on this machine that no longer exists (a process on another
    machine cannot be checked from here, and is assumed alive)."""
    if not worker:
        return False
    host, _, rest = worker.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False
