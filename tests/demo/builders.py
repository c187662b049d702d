"""Builders for the demo domain's tests: a fill's progress record, and a process that has exited."""

from __future__ import annotations

import socket
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from pubdata import processes
from pubdata.demo import progress as fill_progress


def make_fill_status(**overrides: Any) -> fill_progress.FillStatus:
    """A fill loading 37 of 120 entries (42.1 million of 120 million records), run by this process."""
    now = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
    base = fill_progress.FillStatus(
        state=fill_progress.LOADING,
        records=120_000_000,
        entries_done=37,
        entries_total=120,
        rows_done=42_100_000,
        rows_total=120_000_000,
        rows_loaded=0,
        current="QD-X-0001",
        stage="校验",
        started_at=now,
        updated_at=now,
        finished_at=None,
        error=None,
        worker=processes.process_name(tagged=False),
    )
    return replace(base, **overrides)


def dead_worker() -> str:
    """``host:pid`` of a process of this machine that has exited."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    return f"{socket.gethostname()}:{int(proc.stdout)}"
