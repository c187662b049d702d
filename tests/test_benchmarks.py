"""Every script in benchmarks/ runs at a small size so none can rot (issue 11 §4).

Each runs as a subprocess, as a person would run it, in a temporary home/work directory, and must
exit 0 and end with the one JSON line DESIGN.md §6 asks for: a ``benchmark`` name and a numeric
``ratio``. Timings are never asserted (a shared CI machine makes them noise); the scripts' own
checks (identical results, row counts) are what fail here. The whole file takes about a minute on
two cores; most of it is building the demo catalogue for demo_build and catalog_search.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

# The scripts choose their own home and database (no PUBDATA_ variable reaches them, below), so the
# suite's PostgreSQL pass would run exactly what its SQLite pass ran: about two minutes of CI for
# nothing. A benchmark's PostgreSQL mode is asked for by its own option (load.py --database-url).
pytestmark = pytest.mark.skipif(
    bool(os.environ.get("PUBDATA_TEST_DATABASE_URL")), reason="database-independent: run on the SQLite pass"
)

# case -> (script, the smallest arguments that still exercise every query/check of the script.
# variant); {tmp} is replaced by a fresh temporary directory.
CASES: dict[str, list[str]] = {
    "ingest": ["--rows", "2000", "--repeat", "1"],
    "ingest --realistic": ["--rows", "2000", "--repeat", "1", "--realistic"],
    "validation": ["--rows", "2000", "--sample", "500"],
    "facts": ["--enterprises", "1000", "--rounds", "1", "--work", "{tmp}/work"],
    # fewer than ~5,000 enterprises leaves a policy clause with no eligible enterprise (the script checks)
    "policy_match": ["--enterprises", "5000", "--repeat", "1"],
    # the script checks the synthetic city spreads over at least five grades: a few thousand enterprises do
    "credit": ["--enterprises", "5000", "--repeat", "1"],
    # each query asks for a full page of 100 rows; the narrowest (a 0.1 % capital range) needs ~100k rows
    "rows": ["--rows", "150000", "--rounds", "1", "--work", "{tmp}/work"],
    "sql": ["--rows", "10000", "--rounds", "1", "--work", "{tmp}/work"],
    "text_search": ["--rows", "20000", "--work", "{tmp}/work"],
    "demo_build": ["--records", "1000", "--entries", "anchors", "--home", "{tmp}/home"],
    "catalog_search": ["--rounds", "1", "--home", "{tmp}/home"],
    # every plan kind with calls beyond its free quota, a cap reached, and the noise the metering ignores
    "settlement": ["--calls", "20000", "--entitlements", "100", "--repeat", "1"],
    # starts a local Spark JVM (most of this case's time); the results must be identical on both engines
    "batch_engines": ["--enterprises", "2000", "--repeat", "1"],
    # builds a small demo (its catalogue is most of the time), then each endpoint and the Datasette
    # peer under locust for 2 s with one client; every answer must be a 200
    "load": ["--build-demo", "1000", "--home", "{tmp}/home", "--levels", "1", "--seconds", "2"],
}


def test_every_benchmark_is_covered() -> None:
    # a runnable benchmark has a main guard; a module without one (common.py) is shared code
    scripts = {p.stem for p in BENCHMARKS.glob("*.py") if '__name__ == "__main__"' in p.read_text(encoding="utf-8")}
    assert scripts == {case.split()[0] for case in CASES}, "add the new benchmark to CASES with a small size"


@pytest.mark.parametrize("name", sorted(CASES))
def test_benchmark_runs_small(name: str, tmp_path: Path) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in CASES[name]]
    # the scripts choose their own home/database: nothing of the test session's may leak in
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBDATA_")}
    env["PUBDATA_HOME"] = str(tmp_path / "default-home")
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{name.split()[0]}.py"), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines, f"{name} printed nothing"
    out = json.loads(lines[-1])
    assert out["benchmark"]
    assert isinstance(out["ratio"], (int, float)) and not isinstance(out["ratio"], bool)
