"""Where score runs live: one Parquet file per (facts version, model version)::

    $PUBDATA_HOME/finance/scores/facts-v<facts version>/model-<model version id>.parquet
    $PUBDATA_HOME/finance/scores/.staging-<token>/     a run in progress (never read)

A run writes into a staging directory and renames the file into place (``pubdata.files``) only
when it is complete; a forced re-run of the same pair replaces the file with identical content."""

from __future__ import annotations

from pathlib import Path


def scores_root(home: Path) -> Path:
    return home / "finance" / "scores"


def scores_file(home: Path, facts_version: int, model_version_id: int) -> Path:
    return scores_root(home) / f"facts-v{facts_version}" / f"model-{model_version_id}.parquet"
