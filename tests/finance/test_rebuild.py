"""One job rebuilds facts, tiers under both rule versions and scores for every enterprise of a small
city loaded through the real ingest pipeline; a second run changes nothing."""

from __future__ import annotations

import duckdb
import pytest

from pubdata.authz import SYSTEM
from pubdata.errors import Forbidden
from pubdata.finance import rebuild
from tests.builders import settings_for
from tests.enterprise.mini_city import A, build_city


@pytest.fixture
def settings(tmp_path):
    return settings_for(tmp_path / "home")


def test_facts_tiers_and_scores_for_every_enterprise(session, settings, tmp_path, as_actor):
    build_city(session, settings.home, tmp_path)
    steps: list[str] = []
    done = rebuild.rebuild(session, SYSTEM, home=settings.home, progress=steps.append)
    assert done.facts_built and done.enterprises > 0 and done.score_run
    assert [t.pack_id for t in done.tiers] == ["miit-tiers-2022", "miit-tiers-2026"]
    assert any("梯度培育" in s for s in steps) and steps[-1].startswith("信用评分")
    for t in done.tiers:
        rows = duckdb.sql(f"SELECT enterprise, clause, eligible, score_min, score_max FROM read_parquet('{t.path}')")
        got = rows.fetchall()
        assert len(got) == 3 * done.enterprises  # every enterprise × every tier clause
        assert {r[0] for r in got} >= {A}
    again = rebuild.rebuild(session, SYSTEM, home=settings.home)
    assert not again.facts_built and again.facts_version == done.facts_version
    assert again.score_run == done.score_run  # the same facts and card: the run is reused
    with pytest.raises(Forbidden):
        rebuild.rebuild(session, as_actor("bank"), home=settings.home)
