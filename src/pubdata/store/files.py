"""Where a resource's versions live on disk, and how a version becomes visible atomically.

Layout under ``$PUBDATA_HOME/store``::

    <resource id>/v<number>/data.parquet      the version's rows (immutable)
    <resource id>/v<number>/rejects.csv       rejected rows: row, column, value, reason
    <resource id>/.staging-<token>/           a load in progress (never read)

A load writes everything into a staging directory, fsyncs it, then renames it to ``v<number>`` (an
atomic rename on one file system) before the metadata transaction marks the version published. A
crash at any point leaves either a staging directory (swept later) or a complete but unpublished
version directory that no reader looks at; the previous version is untouched throughout.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DATA_FILE = "data.parquet"
REJECTS_FILE = "rejects.csv"
_STAGING = ".staging-"


def store_root(home: Path) -> Path:
    return home / "store"


def resource_dir(home: Path, resource_id: str) -> Path:
    if not resource_id or "/" in resource_id or resource_id.startswith("."):
        raise ValueError(f"not a resource id: {resource_id!r}")
    return store_root(home) / resource_id


def version_dir(home: Path, resource_id: str, number: int) -> Path:
    return resource_dir(home, resource_id) / f"v{number}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def staging(home: Path, resource_id: str) -> Iterator[Path]:
    """A fresh staging directory for a load; removed if the load fails before ``publish``."""
    parent = resource_dir(home, resource_id)
    parent.mkdir(parents=True, exist_ok=True)
    path = parent / f"{_STAGING}{secrets.token_hex(8)}"
    path.mkdir()
    try:
        yield path
    finally:
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)


def publish(staged: Path, target: Path) -> None:
    """Move a complete staging directory to its version directory in one rename."""
    for child in staged.iterdir():
        if child.is_file():
            with open(child, "rb") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(staged)
    if target.exists():
        # a directory left by a load that crashed after its rename but before its commit: never published
        shutil.rmtree(target)
    os.rename(staged, target)
    _fsync_dir(target.parent)


def sweep_staging(home: Path, resource_id: str) -> int:
    """Remove staging directories left by interrupted loads; returns how many."""
    parent = resource_dir(home, resource_id)
    if not parent.exists():
        return 0
    removed = 0
    for child in parent.iterdir():
        if child.name.startswith(_STAGING):
            shutil.rmtree(child, ignore_errors=True)
            removed += 1
    return removed
