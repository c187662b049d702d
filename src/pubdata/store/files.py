"""Where a resource's versions live on disk, and how a version becomes visible atomically.

Layout under ``$PUBDATA_HOME/store``::

    <resource id>/v<number>/data.parquet      the version's rows (immutable)
    <resource id>/v<number>/rejects.csv       rejected rows: row, column, value, reason
    <resource id>/v<number>/text_terms.parquet, text_codes.parquet
                                              the text index of a large version (store/ingest/text_index.py)
    <resource id>/.staging-<token>/           a load in progress (never read)

A load writes everything into a staging directory, fsyncs it, then renames it to ``v<number>`` (an
atomic rename on one file system) before the metadata transaction marks the version published. A
crash at any point leaves either a staging directory (swept later) or a complete but unpublished
version directory that no reader looks at; the previous version is untouched throughout.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pubdata import files as core_files

DATA_FILE = "data.parquet"
REJECTS_FILE = "rejects.csv"
TEXT_TERMS_FILE = "text_terms.parquet"
TEXT_CODES_FILE = "text_codes.parquet"
TEXT_ROWS_FILE = "text_rows.arrow"


def store_root(home: Path) -> Path:
    return home / "store"


def resource_dir(home: Path, resource_id: str) -> Path:
    if not resource_id or "/" in resource_id or resource_id.startswith("."):
        raise ValueError(f"not a resource id: {resource_id!r}")
    return store_root(home) / resource_id


def version_dir(home: Path, resource_id: str, number: int) -> Path:
    return resource_dir(home, resource_id) / f"v{number}"


@contextmanager
def staging(home: Path, resource_id: str) -> Iterator[Path]:
    """A fresh staging directory for a load; removed if the load fails before ``publish``."""
    with core_files.staging_dir(resource_dir(home, resource_id)) as path:
        yield path


def publish(staged: Path, target: Path) -> None:
    """Move a complete staging directory to its version directory in one rename."""
    core_files.publish_dir(staged, target)


def sweep_staging(home: Path, resource_id: str) -> int:
    """Remove staging directories left by interrupted loads; returns how many."""
    return core_files.sweep(resource_dir(home, resource_id))
