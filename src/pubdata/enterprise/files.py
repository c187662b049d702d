"""Where the versions of the enterprise facts table live, and how one becomes visible atomically.

Layout under ``$PUBDATA_HOME/enterprise/facts``::

    v<number>/facts.parquet     one row per enterprise, one typed column per fact (immutable)
    .staging-<token>/           a build in progress (never read)

A build writes into a staging directory and renames it to ``v<number>`` (``pubdata.files.publish_dir``:
fsync, then one rename) only after its version row is in the metadata transaction, so two builds
racing for a number cannot overwrite each other's file: the loser's insert fails first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pubdata import files as core_files

FACTS_FILE = "facts.parquet"


def facts_root(home: Path) -> Path:
    return home / "enterprise" / "facts"


def version_dir(home: Path, number: int) -> Path:
    return facts_root(home) / f"v{number}"


def facts_file(home: Path, number: int) -> Path:
    return version_dir(home, number) / FACTS_FILE


@contextmanager
def staging(home: Path) -> Iterator[Path]:
    """A fresh staging directory for a build; removed unless it was published (renamed away)."""
    with core_files.staging_dir(facts_root(home)) as path:
        yield path


def publish(staged: Path, home: Path, number: int) -> None:
    """Make a complete build version ``number`` (fsync, one rename)."""
    core_files.publish_dir(staged, version_dir(home, number))
