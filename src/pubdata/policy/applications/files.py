"""Application materials on disk: a file received in pieces, checked by its content, stored
content-addressed and written atomically.

Layout under ``$PUBDATA_HOME/policy/materials``::

    <application id>/<sha256>     a material's bytes (immutable; the same file twice is stored once)
    .staging/<token>              an upload in progress (never read; swept when old)

``MaterialUpload`` takes the bytes as they arrive (the API and the portal stream the request body
into it): it refuses the file as soon as it passes the size limit or its first bytes are not a
PDF, PNG or JPEG signature — the extension and the client's content type are not trusted — and
hashes as it writes, so nothing is read twice or held in memory. ``store`` fsyncs the staged file
and renames it into place (one rename on one file system), so a material is either absent or
complete; the database row naming it is written in the same request's transaction.
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
from pubdata.policy.errors import InvalidMaterial, MaterialTooLarge

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
_SNIFF = max(len(s) for s, _ in _SIGNATURES)
KIND_LABELS = {"application/pdf": "PDF", "image/png": "PNG 图片", "image/jpeg": "JPEG 图片"}
STAGING_MAX_AGE_S = 6 * 3600


def materials_root(home: Path) -> Path:
    return home / "policy" / "materials"


def _staging_root(home: Path) -> Path:
    return materials_root(home) / ".staging"


def limit_message(limit: int) -> str:
    return f"材料文件过大：超过上限 {limit / 1024**2:,.0f} MB（{limit:,} 字节）"


def sniff(head: bytes) -> str | None:
    """The content type the file's first bytes announce (PDF, PNG, JPEG), or None."""
    for signature, content_type in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def clean_filename(name: str | None) -> str:
    """The file name as the uploader called it: no directory part, no control characters."""
    base = re.split(r"[\\/]", (name or "").strip())[-1]
    base = "".join(ch for ch in base if ord(ch) >= 32 and ch != "\x7f").strip()
    if not base or base in (".", ".."):
        return "材料"
    return base[-200:]


@dataclass(frozen=True)
class StagedMaterial:
    path: Path
    filename: str
    size: int
    sha256: str
    content_type: str

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def _refused_type() -> InvalidMaterial:
    return InvalidMaterial(
        "只接受 PDF、PNG 或 JPEG 文件（按文件内容判断，与扩展名无关）：该文件不是这几种格式", field="file"
    )


class MaterialUpload:
    """One file received in pieces: ``write`` each piece, then ``finish`` (or ``discard``)."""

    def __init__(self, home: Path, filename: str | None, limit: int) -> None:
        root = _staging_root(home)
        root.mkdir(parents=True, exist_ok=True)
        _sweep(root)
        self.filename = clean_filename(filename)
        self.limit = limit
        self.size = 0
        self.content_type: str | None = None
        self.path = root / secrets.token_hex(16)
        self._head = b""
        self._hash = hashlib.sha256()
        self._fh = open(self.path, "wb")  # noqa: SIM115 - closed in finish() / discard()

    def write(self, data: bytes) -> None:
        """Take the next piece; refuses (and discards the file) past the limit or on a first few
        bytes that are not a PDF, PNG or JPEG."""
        if not data:
            return
        self.size += len(data)
        if self.size > self.limit:
            self.discard()
            raise MaterialTooLarge(limit_message(self.limit))
        if self.content_type is None:
            self._head += data[: _SNIFF - len(self._head)]
            if len(self._head) >= _SNIFF:
                self.content_type = sniff(self._head)
                if self.content_type is None:
                    self.discard()
                    raise _refused_type()
        self._hash.update(data)
        self._fh.write(data)

    def finish(self) -> StagedMaterial:
        """The complete file, flushed to disk; refuses an empty or unrecognised one."""
        try:
            if self.size == 0:
                raise InvalidMaterial("上传的文件为空", field="file")
            if self.content_type is None:  # shorter than the longest signature
                self.content_type = sniff(self._head)
                if self.content_type is None:
                    raise _refused_type()
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
        except BaseException:
            self.discard()
            raise
        return StagedMaterial(self.path, self.filename, self.size, self._hash.hexdigest(), self.content_type)

    def discard(self) -> None:
        if not self._fh.closed:
            self._fh.close()
        self.path.unlink(missing_ok=True)


def stage_bytes(home: Path, filename: str, data: bytes, limit: int) -> StagedMaterial:
    """A whole file given at once (tests, small scripts) staged as an upload would be."""
    upload = MaterialUpload(home, filename, limit)
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


def store(home: Path, application_id: int, staged: StagedMaterial) -> str:
    """Move a staged file to its place (one rename); its path relative to the home."""
    directory = materials_root(home) / str(application_id)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / staged.sha256
    if target.exists():  # the same bytes uploaded before: keep the stored copy
        staged.discard()
    else:
        core_files.publish_file(staged.path, target)
    return target.relative_to(home).as_posix()


def stored_file(home: Path, stored_path: str) -> Path:
    """The file of a stored material (its path as ``store`` returned it)."""
    path = (home / stored_path).resolve()
    if materials_root(home).resolve() not in path.parents:
        raise InvalidMaterial("材料路径无效")
    return path
