"""How far the demo's record fill has got, for every server process to show.

``pubdata demo`` answers requests while most of the demo's records are still being loaded (a
thread of the serving process runs ``records.fill`` for the entries the foreground fill left);
users meanwhile see entries without rows. ``records.fill`` is wrapped by ``recorded``, which keeps
one small JSON file, ``$PUBDATA_HOME/demo-records/progress.json``, up to date: state (``loading``,
``done``, ``failed``), entries and records done of the plan, records loaded by this run, the entry
being loaded, and when the fill started, last reported and ended. ``read`` gives it to the portal's
home page and CKAN's ``status_show``.

Why a file in the home rather than process memory or a metadata-database row:

- Every server process of an installation already shares the home (the records themselves are
  read from it), so each one sees the same progress, whichever process runs the fill — today a
  thread of ``pubdata demo``, later a worker process.
- The fill keeps its metadata-database writes short and rare (one SQLite writer is shared with the
  server's requests); a progress row updated every second for the whole fill would add a write
  transaction a second to that lock. It is also transient operational state of the demo, not
  platform data, so it gets no table and no migration.
- It is written atomically (``pubdata.files.write_atomic``: staged, fsynced, renamed over the old
  one), so a reader sees the previous state or the next, never half of one; writes are at most
  one a second, plus every change of state.

When long jobs move to worker processes with their state in the metadata database, the fill becomes
one of those jobs and ``read`` the place to switch to its row.

The file holds the code of the entry being loaded: it is for operators. What the public surfaces
show is counts (``FillStatus.public``), and at most the title of an entry the caller may see.
"""

from __future__ import annotations

import functools
import inspect
import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pubdata import files as core_files
from pubdata import processes

if TYPE_CHECKING:
    from pubdata.demo.records import FillProgress

LOADING, DONE, FAILED = "loading", "done", "failed"
STATES = (LOADING, DONE, FAILED)
FILE_KIND = "pubdata.demo-records.progress"
WRITE_EVERY_SECONDS = 1.0  # at most one write a second while loading (state changes always write)
STOPPED = "加载进程已停止，数据记录未加载完（再次运行 pubdata demo 会从中断处继续）"

Fill = TypeVar("Fill", bound=Callable[..., dict[str, Any]])


def progress_file(home: Path) -> Path:
    return home / "demo-records" / "progress.json"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class FillStatus:
    """One fill's progress. ``rows_done`` counts the records of the entries finished (loaded now or
    already current), ``rows_loaded`` those this run loaded (known when it ends)."""

    state: str
    records: int
    entries_done: int
    entries_total: int
    rows_done: int
    rows_total: int
    rows_loaded: int
    current: str  # entry code being loaded: internal, never shown to the public as is
    stage: str
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    error: str | None
    worker: str

    @property
    def loading(self) -> bool:
        return self.state == LOADING

    @property
    def percent(self) -> int:
        """How far, by records (the large entries load first and take most of the time), else by
        entries; 0–100, 100 only when done."""
        if self.state == DONE:
            return 100
        if self.rows_total:
            share = self.rows_done / self.rows_total
        elif self.entries_total:
            share = self.entries_done / self.entries_total
        else:
            share = 0.0
        return min(99, max(0, int(share * 100)))

    def public(self) -> dict[str, Any]:
        """What anybody may be told: the state, counts and times (no entry codes, no error text,
        which may name files of the server)."""
        return {
            "state": self.state,
            "entries_done": self.entries_done,
            "entries_total": self.entries_total,
            "records_done": self.rows_done,
            "records_total": self.rows_total,
            "records_loaded": self.rows_loaded,
            "percent": self.percent,
            "started_at": self.started_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }

    def to_json(self) -> str:
        data: dict[str, Any] = {"kind": FILE_KIND, **asdict(self)}
        for key in ("started_at", "updated_at", "finished_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return json.dumps(data, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> FillStatus:
        """Parse a progress file; ValueError naming the problem if it is not one."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("kind") != FILE_KIND:
            raise ValueError("not a demo-records progress file")
        if data.get("state") not in STATES:
            raise ValueError(f"unknown state {data.get('state')!r}")
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = data.get(f.name)
            if f.name in ("started_at", "updated_at", "finished_at"):
                value = datetime.fromisoformat(value) if value else None
                if value is None and f.name != "finished_at":
                    raise ValueError(f"{f.name} is missing")
            elif f.name in ("current", "stage", "worker"):
                value = str(value or "")
            elif f.name == "error":
                value = None if value is None else str(value)
            elif f.name != "state" and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise ValueError(f"{f.name} should be a count, got {value!r}")
            values[f.name] = value
        return cls(**values)


def write(home: Path, status: FillStatus) -> None:
    """Replace the progress file atomically (``pubdata.files.write_atomic``)."""
    core_files.write_atomic(progress_file(home), status.to_json())


def read(home: Path) -> FillStatus | None:
    """The last fill's progress in this home; None if no fill recorded any (or the file is not
    readable as one). A fill still ``loading`` whose process on this machine has gone is reported
    ``failed``: it will never finish."""
    try:
        status = FillStatus.from_json(progress_file(home).read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return None
    if status.state == LOADING and processes.is_gone(status.worker):
        return replace(status, state=FAILED, error=STOPPED)
    return status


class Recorder:
    """Writes one fill's progress as it is reported (from any of the fill's threads)."""

    def __init__(self, home: Path, records: int, *, every: float = WRITE_EVERY_SECONDS) -> None:
        self.home = home
        self.every = every
        self._lock = threading.Lock()
        now = _now()
        self.status = FillStatus(
            state=LOADING,
            records=records,
            entries_done=0,
            entries_total=0,
            rows_done=0,
            rows_total=0,
            rows_loaded=0,
            current="",
            stage="开始",
            started_at=now,
            updated_at=now,
            finished_at=None,
            error=None,
            worker=processes.process_name(tagged=False),
        )
        self._written = time.monotonic()
        self.started = False  # nothing is written until the fill reports (bad arguments leave no trace)

    def report(self, p: FillProgress) -> None:
        """Take a progress report; written if a second has passed since the last write, or when it
        finishes the last entry."""
        with self._lock:
            s = self.status
            self.status = replace(
                s,
                entries_done=max(s.entries_done, p.entries_done),
                entries_total=p.entries_total or s.entries_total,
                rows_done=max(s.rows_done, p.rows_done),
                rows_total=p.rows_total or s.rows_total,
                current=p.current,
                stage=p.stage,
                updated_at=_now(),
            )
            last = p.entries_total > 0 and p.entries_done >= p.entries_total
            if not self.started or last or time.monotonic() - self._written >= self.every:
                self._write()

    def chain(self, progress: Callable[[FillProgress], Any] | None) -> Callable[[FillProgress], None]:
        """A progress callback that records, then passes the report on to ``progress``."""

        def both(p: FillProgress) -> None:
            self.report(p)
            if progress is not None:
                progress(p)

        return both

    def done(self, summary: dict[str, Any]) -> None:
        with self._lock:
            now = _now()
            entries = int(summary.get("entries", self.status.entries_total))
            self.status = replace(
                self.status,
                state=DONE,
                entries_done=entries,
                entries_total=entries,
                rows_done=max(self.status.rows_done, self.status.rows_total),
                rows_loaded=int(summary.get("rows_loaded", 0)),
                current="",
                stage="完成",
                updated_at=now,
                finished_at=now,
            )
            self._write()

    def failed(self, exc: BaseException) -> None:
        """Record the failure of a fill that had started (one refused before it began leaves the
        file as it was)."""
        with self._lock:
            if not self.started:
                return
            now = _now()
            message = str(exc) or type(exc).__name__
            self.status = replace(self.status, state=FAILED, error=message, updated_at=now, finished_at=now)
            self._write()

    def _write(self) -> None:
        write(self.home, self.status)
        self.started = True
        self._written = time.monotonic()


def recorded(fill: Fill) -> Fill:
    """Wrap ``records.fill`` so that it records its progress in its ``home``: ``loading`` from its
    first report (within seconds of the start), every report after (at most one write a second),
    then ``done`` or ``failed`` (the exception is raised on)."""
    signature = inspect.signature(fill)

    @functools.wraps(fill)
    def wrapper(*args: Any, **kwargs: Any) -> dict[str, Any]:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        recorder = Recorder(Path(bound.arguments["home"]), int(bound.arguments["records"]))
        bound.arguments["progress"] = recorder.chain(bound.arguments["progress"])
        try:
            summary = fill(*bound.args, **bound.kwargs)
        except BaseException as exc:
            recorder.failed(exc)
            raise
        recorder.done(summary)
        return summary

    return cast(Fill, wrapper)
