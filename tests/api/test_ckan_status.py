"""CKAN ``status_show`` reports the demo's record fill in ``pubdata_demo_records``, next to CKAN's
own keys: counts and times for anybody, the title of the entry being loaded only if the caller may
see it, never an entry code. Driven by the real ``ckanapi`` client against a running server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ckanapi import RemoteCKAN

from pubdata.authz import SYSTEM
from pubdata.catalog import service as catalog
from pubdata.demo import progress as fill_progress
from tests.builders import make_entry
from tests.demo.builders import dead_worker
from tests.demo.builders import make_fill_status as status

pytestmark = pytest.mark.server

CKAN_KEYS = {"site_title", "site_description", "site_url", "ckan_version", "locale_default", "extensions"}


@pytest.fixture(scope="module")
def ckan(live_server) -> Iterator[RemoteCKAN]:
    with RemoteCKAN(live_server.url) as remote:
        yield remote


@pytest.fixture
def home(live_server) -> Iterator[Path]:
    path = fill_progress.progress_file(live_server.settings.resolved_home)
    path.unlink(missing_ok=True)
    yield live_server.settings.resolved_home
    path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def entries(live_server) -> dict[str, str]:
    with live_server.session() as s:
        shown = make_entry(s, code="QD-FILL-0001", title="公交线路站点信息")
        gone = make_entry(s, code="QD-FILL-0002", title="已删除的目录")
        catalog.delete_entry(s, SYSTEM, gone.code)
        return {"shown": shown.code, "gone": gone.code}


def test_status_show_without_a_fill_keeps_ckan_keys_and_says_null(ckan, home) -> None:
    result = ckan.action.status_show()
    assert set(result) >= CKAN_KEYS
    assert result["pubdata_demo_records"] is None


def test_status_show_reports_a_loading_fill_with_counts(ckan, home, entries) -> None:
    fill_progress.write(home, status(current=entries["shown"]))
    result = ckan.action.status_show()
    assert set(result) >= CKAN_KEYS and result["ckan_version"].startswith("2.")
    fill = result["pubdata_demo_records"]
    assert fill["state"] == "loading"
    assert (fill["entries_done"], fill["entries_total"]) == (37, 120)
    assert (fill["records_done"], fill["records_total"], fill["percent"]) == (42_100_000, 120_000_000, 35)
    assert fill["started_at"].startswith("2026-12-05T02:00") and fill["finished_at"] is None
    assert fill["current_entry_title"] == "公交线路站点信息"
    assert entries["shown"] not in str(result)


def test_status_show_names_no_entry_the_caller_cannot_see(ckan, home, entries) -> None:
    fill_progress.write(home, status(current=entries["gone"]))
    result = ckan.action.status_show()
    assert result["pubdata_demo_records"]["current_entry_title"] is None
    assert entries["gone"] not in str(result) and "已删除的目录" not in str(result)


def test_status_show_reports_done_and_a_stopped_fill(ckan, home) -> None:
    fill_progress.write(home, status(state=fill_progress.DONE, rows_loaded=119_000_000, current=""))
    fill = ckan.action.status_show()["pubdata_demo_records"]
    assert fill["state"] == "done" and fill["percent"] == 100 and fill["records_loaded"] == 119_000_000
    fill_progress.write(home, status(worker=dead_worker(), error=None))
    fill = ckan.action.status_show()["pubdata_demo_records"]
    assert fill["state"] == "failed" and "error" not in fill
