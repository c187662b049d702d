"""Files received in pieces, checked by their content, stored content-addressed and written
atomically (政策通's application materials, the market's report files).

``CheckedUpload`` takes the bytes as they arrive (the API and the portal stream the request body
into it): it refuses the file as soon as it passes the size limit or its first bytes are none of the
signatures its ``Accepts`` allows — the extension and the client's content type are not trusted —
and hashes as it writes, so nothing is read twice or held in memory. ``store_addressed`` fsyncs the
staged file and renames it into ``<directory>/<sha256>`` (one rename on one file system), so a file
is either absent or complete; the database row naming it is written in the same request's
transaction. Staged files of uploads that died are swept after six hours.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from pubdata import files as core_files
from pubdata.errors import Invalid, PubdataError

STAGING_MAX_AGE_S = 6 * 3600


@dataclass(frozen=True)
class Accepts:
    """What one kind of upload accepts, and the errors it refuses with (each domain's own codes)."""

    signatures: tuple[tuple[bytes, str], ...]  # (first bytes, content type)
    refused: str  # the message when the content is none of them
    noun: str  # what the file is, in Chinese ("材料", "报告")
    invalid: type[Invalid]
    too_large: type[PubdataError]

    def limit_message(self, limit: int) -> str:
        return f"{self.noun}文件过大：超过上限 {limit / 1024**2:,.0f} MB（{limit:,} 字节）"

    def sniff(self, head: bytes) -> str | None:
        """The content type the file's first bytes announce, or None."""
        for signature, content_type in self.signatures:
            if head.startswith(signature):
                return content_type
        return None

    def refuse(self) -> Invalid:
        return self.invalid(self.refused, field="file")


def clean_filename(name: str | None, default: str) -> str:
    """The file name as the uploader called it: no directory part, no control characters."""
    base = re.split(r"[\\/]", (name or "").strip())[-1]
    base = "".join(ch for ch in base if ord(ch) >= 32 and ch != "\x7f").strip()
    if not base or base in (".", ".."):
        return default
    return base[-200:]


@dataclass(frozen=True)
class StagedFile:
    path: Path
    filename: str
    size: int
    sha256: str
    content_type: str

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


class CheckedUpload:
    """One file received in pieces into ``staging``: ``write`` each piece, then ``finish`` (or
    ``discard``)."""

    def __init__(self, staging: Path, filename: str | None, limit: int, accepts: Accepts) -> None:
        staging.mkdir(parents=True, exist_ok=True)
        _sweep(staging)
        self.accepts = accepts
        self.filename = clean_filename(filename, accepts.noun)
        self.limit = limit
        self.size = 0
        self.content_type: str | None = None
        self.path = staging / secrets.token_hex(16)
        self._sniff_len = max(len(s) for s, _ in accepts.signatures)
        self._head = b""
        self._hash = hashlib.sha256()
        self._fh = open(self.path, "wb")  # noqa: SIM115 - closed in finish() / discard()

    def write(self, data: bytes) -> None:
        """Take the next piece; refuses (and discards the file) past the limit or on first bytes
        that are none of the accepted signatures."""
        if not data:
            return
        self.size += len(data)
        if self.size > self.limit:
            self.discard()
            raise self.accepts.too_large(self.accepts.limit_message(self.limit))
        if self.content_type is None:
            self._head += data[: self._sniff_len - len(self._head)]
            if len(self._head) >= self._sniff_len:
                self.content_type = self.accepts.sniff(self._head)
                if self.content_type is None:
                    self.discard()
                    raise self.accepts.refuse()
        self._hash.update(data)
        self._fh.write(data)

    def finish(self) -> StagedFile:
        """The complete file, flushed to disk; refuses an empty or unrecognised one."""
        try:
            if self.size == 0:
                raise self.accepts.invalid("上传的文件为空", field="file")
            if self.content_type is None:  # shorter than the longest signature
                self.content_type = self.accepts.sniff(self._head)
                if self.content_type is None:
                    raise self.accepts.refuse()
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
        except BaseException:
            self.discard()
            raise
        return StagedFile(self.path, self.filename, self.size, self._hash.hexdigest(), self.content_type)

    def discard(self) -> None:
        if not self._fh.closed:
            self._fh.close()
        self.path.unlink(missing_ok=True)


def stage_bytes(staging: Path, filename: str, data: bytes, limit: int, accepts: Accepts) -> StagedFile:
    """A whole file given at once (tests, small scripts, the demo) staged as an upload would be."""
    upload = CheckedUpload(staging, filename, limit, accepts)
    for start in range(0, len(data), 1 << 16):
        upload.write(data[start : start + (1 << 16)])
    return upload.finish()


def _sweep(root: Path) -> None:
    """Remove staged files left by uploads that died (older than six hours)."""
    cutoff = time.time() - STAGING_MAX_AGE_S
    try:
        for child in root.iterdir():
            try:
                if child.stat().st_mtime < cutoff:
                    child.unlink(missing_ok=True)
            except OSError:
                continue
    except OSError:
        return


def store_addressed(staged: StagedFile, directory: Path) -> Path:
    """Move a staged file to ``directory/<sha256>`` (one rename); the same bytes stored before are
    kept and the staged copy dropped."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / staged.sha256
    if target.exists():
        staged.discard()
    else:
        core_files.publish_file(staged.path, target)
    return target


def inside(root: Path, path: Path) -> Path:
    """``path`` resolved, refused unless it lies under ``root`` (a stored path read back from the
    database never leaves its files' folder)."""
    resolved = path.resolve()
    if root.resolve() not in resolved.parents:
        raise Invalid("文件路径无效")
    return resolved
