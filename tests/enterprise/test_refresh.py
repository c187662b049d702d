"""The facts follow their sources in a server: ``refresh_if_stale`` against a committed database
(as the server's refresher thread runs it) builds once, then only after a source changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pubdata.authz import SYSTEM
from pubdata.db import session_scope
from pubdata.enterprise import service, tasks
from tests.conftest import fresh_engine
from tests.enterprise.mini_city import TABLES, A, build_city, load


def test_refresh_builds_only_when_a_source_changed(tmp_path: Path) -> None:
    engine = fresh_engine(tmp_path, name="facts_refresh")
    home = tmp_path / "home"
    try:
        assert tasks.refresh_if_stale(engine, home) is None  # no registry yet: nothing to build
        with session_scope(engine) as session:
            city = build_city(session, home, tmp_path)
        first = tasks.refresh_if_stale(engine, home)
        assert first is not None and first.version.number == 1 and first.version.built_via == "refresh"
        assert tasks.refresh_if_stale(engine, home) is None
        csv = TABLES["tax_credit"][2].replace(",2021,A", ",2021,C")
        with session_scope(engine) as session:
            load(session, "tax_credit", csv, city.resources["tax_credit"], home, tmp_path)
        second = tasks.refresh_if_stale(engine, home)
        assert second is not None and second.version.number == 2
        with session_scope(engine) as session:
            assert service.get_facts(session, SYSTEM, A, home=home).values["tax_credit_grade"] == "C"
    finally:
        engine.dispose()


@pytest.mark.parametrize("interval", [0, 3600])
def test_the_refresher_thread_starts_and_stops(tmp_path: Path, interval: float) -> None:
    refresher = tasks.FactsRefresher(engine=None, home=tmp_path, interval=interval)  # type: ignore[arg-type]
    refresher.start()
    assert (refresher._thread is not None) == (interval > 0)
    refresher.stop(timeout=5)
    assert refresher._thread is None or not refresher._thread.is_alive()
