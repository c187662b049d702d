"""The home page tells visitors while the demo's records are still loading (counts and a progress
bar, never which entry), says so if loading stopped, and shows nothing once it is done."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from pubdata.demo import progress as fill_progress
from pubdata.settings import Settings
from tests.demo.builders import dead_worker
from tests.demo.builders import make_fill_status as status

LOADING_TEXT = "示范数据正在加载：已完成 37/120 个目录（约 4,210 万条记录），数据明细将陆续可查"


@pytest.fixture
def home(settings: Settings) -> Iterator[Path]:
    """The test app's home, without a progress file before and after the test (the home is shared by
    the session's tests)."""
    path = fill_progress.progress_file(settings.resolved_home)
    path.unlink(missing_ok=True)
    yield settings.resolved_home
    path.unlink(missing_ok=True)


def _notice(html: str) -> str | None:
    match = re.search(r'<section class="notice[^"]*" id="demo-fill".*?</section>', html, re.S)
    return " ".join(match.group(0).split()) if match else None


def test_home_shows_the_loading_notice_while_loading_and_nothing_when_done(client, home: Path) -> None:
    assert _notice(client.get("/").text) is None  # no fill was ever run
    fill_progress.write(home, status())
    html = client.get("/").text
    notice = _notice(html)
    assert notice is not None and LOADING_TEXT in notice
    assert '<progress max="100" value="35"' in notice
    assert "QD-X-0001" not in html  # which entry is loading is not shown
    fill_progress.write(home, status(state=fill_progress.DONE, entries_done=120, rows_done=120_000_000))
    html = client.get("/").text
    assert _notice(html) is None and "示范数据" not in html


def test_home_says_when_loading_stopped(client, home: Path) -> None:
    fill_progress.write(home, status(worker=dead_worker()))
    notice = _notice(client.get("/").text)
    assert notice is not None and "notice-error" in notice
    assert "示范数据未加载完：已完成 37/120 个目录（约 4,210 万条记录），其余目录暂无数据明细" in notice
    assert "<progress" not in notice


def test_small_counts_and_a_fill_not_yet_planned(client, home: Path) -> None:
    fill_progress.write(home, replace(status(), entries_done=2, entries_total=3, rows_done=500, rows_total=800))
    assert "已完成 2/3 个目录（约 500 条记录）" in (_notice(client.get("/").text) or "")
    fill_progress.write(home, replace(status(), entries_done=0, entries_total=0, rows_done=0, rows_total=0))
    notice = _notice(client.get("/").text)
    assert notice is not None and "示范数据正在加载：数据明细将陆续可查" in notice
