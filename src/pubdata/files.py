"""The one way pubdata makes a file or directory visible: stage it beside its target, fsync it,
rename it into place in one step, fsync the parent. A crash leaves either the old state or the new
one (plus, at worst, a staging leftover that ``sweep`` removes), never a half-written file.

Domains keep their own layouts (``store.files``, ``enterprise.files`` …) and call these."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STAGING_PREFIX = ".staging-"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


@contextmanager
def staging_dir(parent: Path) -> Iterator[Path]:
    """A fresh staging directory under ``parent``; removed unless it was published (renamed away)."""
    parent.mkdir(parents=True, exist_ok=True)
    path = parent / f"{STAGING_PREFIX}{secrets.token_hex(8)}"
    path.mkdir()
    try:
        yield path
    finally:
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)


def publish_dir(staged: Path, target: Path) -> None:
    """Make a complete staging directory ``target`` in one rename. A ``target`` left by a writer that
    crashed after its rename but before its metadata commit was never published: it is replaced."""
    for child in staged.iterdir():
        if child.is_file():
            fsync_file(child)
    fsync_dir(staged)
    if target.exists():
        shutil.rmtree(target)
    os.rename(staged, target)
    fsync_dir(target.parent)


def publish_file(staged: Path, target: Path) -> None:
    """Make a complete staged file ``target`` in one rename (replacing what was there)."""
    fsync_file(staged)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, target)
    fsync_dir(target.parent)


def write_atomic(target: Path, data: bytes | str, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``target`` so that readers see the old content or the new, never a part."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f"{STAGING_PREFIX}{target.name}.{secrets.token_hex(4)}")
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        publish_file(staged, target)
    finally:
        staged.unlink(missing_ok=True)


def sweep(parent: Path) -> int:
    """Remove staging leftovers of interrupted writers directly under ``parent``; returns how many."""
    if not parent.exists():
        return 0
    removed = 0
    for child in parent.iterdir():
        if child.name.startswith(STAGING_PREFIX):
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
            removed += 1
    return removed
