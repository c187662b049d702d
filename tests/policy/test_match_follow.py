"""Matching follows the facts in a server: ``match_if_stale`` against a committed database (as the
server's thread runs it) matches once per facts version, and notifies on the new version's changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pubdata.db import session_scope
from pubdata.policy import tasks
from pubdata.policy.matching import match
from tests.conftest import fresh_engine
from tests.policy.facts_builder import PACK, code, publish_facts

E1 = code(31)
SITE = {"uscc": E1, "registered_district": "市北区", "has_independent_site": True,
        "cbec_export_amount": 30_000_000, "independent_site_investment": 100_000}  # fmt: skip


def test_matching_follows_new_facts_versions(tmp_path: Path) -> None:
    engine = fresh_engine(tmp_path, name="match_follow")
    home = tmp_path / "home"
    try:
        assert tasks.match_if_stale(engine, home) == []  # no facts yet
        with session_scope(engine) as session:
            publish_facts(session, home, [SITE])
        (first,) = tasks.match_if_stale(engine, home)
        assert first.pack_id == PACK and first.facts_version == 1 and first.newly_eligible == 1
        assert tasks.match_if_stale(engine, home) == []  # nothing changed
        with session_scope(engine) as session:
            publish_facts(session, home, [{**SITE, "independent_site_investment": 160_000}])
        (second,) = tasks.match_if_stale(engine, home)
        assert second.facts_version == 2 and second.newly_eligible == 1  # 5万 → 8万
        with session_scope(engine) as session:
            latest = match.latest_run(session, PACK)
            assert latest is not None and latest[0].id == second.id
    finally:
        engine.dispose()


@pytest.mark.parametrize("interval", [0, 3600])
def test_the_follower_thread_starts_and_stops(tmp_path: Path, interval: float) -> None:
    follower = tasks.MatchFollower(engine=None, home=tmp_path, interval=interval)  # type: ignore[arg-type]
    follower.start()
    assert (follower._thread is not None) == (interval > 0)
    follower.stop(timeout=5)
    assert follower._thread is None or not follower._thread.is_alive()
