"""The demo fill's progress file: written by ``records.fill`` from its first report to ``done`` (or
``failed``), atomically, and read back by every server process; a fill whose process died reads as
``failed``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from pubdata.db import session_scope
from pubdata.demo import catalogue, city, entries, records
from pubdata.demo import progress as fill_progress
from tests.conftest import fresh_engine
from tests.demo.builders import dead_worker
from tests.demo.builders import make_fill_status as status

SEED = city.DEFAULT_SEED
RECORDS = 2_000


# --- the file ------------------------------------------------------------------------------------


def test_a_written_status_reads_back_unchanged(tmp_path: Path) -> None:
    written = status()
    fill_progress.write(tmp_path, written)
    assert fill_progress.read(tmp_path) == written
    assert [p.name for p in fill_progress.progress_file(tmp_path).parent.iterdir()] == ["progress.json"]


def test_no_file_or_a_foreign_file_reads_as_no_fill(tmp_path: Path) -> None:
    assert fill_progress.read(tmp_path) is None
    path = fill_progress.progress_file(tmp_path)
    path.parent.mkdir(parents=True)
    for text in ("", "{", '{"state": "loading"}', "[1, 2]"):
        path.write_text(text, encoding="utf-8")
        assert fill_progress.read(tmp_path) is None, text
    fill_progress.write(tmp_path, status())
    path.write_text(path.read_text(encoding="utf-8").replace('"entries_done": 37', '"entries_done": -1'))
    assert fill_progress.read(tmp_path) is None


def test_a_loading_fill_whose_process_is_gone_reads_as_failed(tmp_path: Path) -> None:
    fill_progress.write(tmp_path, status(worker=dead_worker()))
    read = fill_progress.read(tmp_path)
    assert read is not None and read.state == fill_progress.FAILED and read.error == fill_progress.STOPPED
    # a fill that ended is what it says, whoever wrote it; a live process (this one) is loading
    fill_progress.write(tmp_path, status(worker=dead_worker(), state=fill_progress.DONE))
    assert fill_progress.read(tmp_path).state == fill_progress.DONE  # type: ignore[union-attr]
    fill_progress.write(tmp_path, status())
    assert fill_progress.read(tmp_path).state == fill_progress.LOADING  # type: ignore[union-attr]


def test_the_public_view_has_counts_and_no_entry_code_or_error() -> None:
    public = status(state=fill_progress.FAILED, error="/secret/path 失败").public()
    assert public["entries_done"] == 37 and public["entries_total"] == 120
    assert public["records_done"] == 42_100_000 and public["percent"] == 35
    assert "QD-X-0001" not in str(public) and "/secret/path" not in str(public)
    assert status(state=fill_progress.DONE).percent == 100
    assert status(rows_done=120_000_000).percent == 99  # loading is never shown as complete


# --- records.fill writes it ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def city_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    root = tmp_path_factory.mktemp("fill-progress")
    engine = fresh_engine(root, name="fill_progress")
    with session_scope(engine) as session:
        city.build(session, seed=SEED, progress=lambda _msg: None)
    yield engine
    engine.dispose()


def _generic_codes(n: int) -> set[str]:
    items, _ = entries.compose(SEED)
    return set(sorted(e.code for e in items if e.code not in catalogue.ANCHOR_CODES.values())[:n])


def test_fill_records_loading_while_it_runs_and_done_at_the_end(city_engine: Engine, tmp_path: Path) -> None:
    codes = _generic_codes(3)
    seen: list[fill_progress.FillStatus | None] = []
    passed_on: list[records.FillProgress] = []

    def report(p: records.FillProgress) -> None:
        passed_on.append(p)
        seen.append(fill_progress.read(tmp_path))

    summary = records.fill(
        lambda: session_scope(city_engine), home=tmp_path, seed=SEED, records=RECORDS, only=codes, progress=report
    )
    assert passed_on, "the caller's progress callback still gets every report"
    assert seen and all(s is not None and s.state == fill_progress.LOADING for s in seen)
    assert {s.entries_total for s in seen if s is not None} <= {0, len(codes)}
    final = fill_progress.read(tmp_path)
    assert final is not None and final.state == fill_progress.DONE
    assert final.entries_done == final.entries_total == len(codes) == summary["entries"]
    assert final.rows_done == final.rows_total > 0
    assert final.rows_loaded == summary["rows_loaded"] > 0
    assert final.records == RECORDS and final.finished_at is not None and final.error is None
    assert final.started_at <= final.updated_at == final.finished_at


def test_a_fill_that_fails_records_failed(city_engine: Engine, tmp_path: Path) -> None:
    def refuse(p: records.FillProgress) -> None:
        if p.stage == "完成":
            raise RuntimeError("磁盘已满")

    with pytest.raises(RuntimeError, match="磁盘已满"):
        records.fill(
            lambda: session_scope(city_engine),
            home=tmp_path,
            seed=SEED,
            records=RECORDS,
            only=_generic_codes(2),
            progress=refuse,
            workers=1,
        )
    failed = fill_progress.read(tmp_path)
    assert failed is not None and failed.state == fill_progress.FAILED and failed.error == "磁盘已满"
    assert failed.finished_at is not None


def test_a_fill_refused_before_it_starts_leaves_the_file_as_it_was(city_engine: Engine, tmp_path: Path) -> None:
    fill_progress.write(tmp_path, status(state=fill_progress.DONE))
    with pytest.raises(ValueError, match="records must be between"):
        records.fill(lambda: session_scope(city_engine), home=tmp_path, seed=SEED, records=0)
    assert fill_progress.read(tmp_path) == status(state=fill_progress.DONE)
