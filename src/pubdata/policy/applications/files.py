"""Application materials on disk: PDF, PNG or JPEG files checked by their content, stored
content-addressed and written atomically (``pubdata.uploads`` does the receiving and storing).

Layout under ``$PUBDATA_HOME/policy/materials``::

    <application id>/<sha256>     a material's bytes (immutable; the same file twice is stored once)
    .staging/<token>              an upload in progress (never read; swept when old)
"""

from __future__ import annotations

from pathlib import Path

from pubdata import uploads
from pubdata.errors import Invalid
from pubdata.policy.errors import InvalidMaterial, MaterialTooLarge

MATERIALS = uploads.Accepts(
    signatures=((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg")),
    refused="只接受 PDF、PNG 或 JPEG 文件（按文件内容判断，与扩展名无关）：该文件不是这几种格式",
    noun="材料",
    invalid=InvalidMaterial,
    too_large=MaterialTooLarge,
)
StagedMaterial = uploads.StagedFile


def materials_root(home: Path) -> Path:
    return home / "policy" / "materials"


def upload(home: Path, filename: str | None, limit: int) -> uploads.CheckedUpload:
    """A material's upload, staged under the materials' folder (so that storing it is one rename)."""
    return uploads.CheckedUpload(materials_root(home) / ".staging", filename, limit, MATERIALS)


def stage_bytes(home: Path, filename: str, data: bytes, limit: int) -> StagedMaterial:
    """A whole file given at once (tests, small scripts) staged as an upload would be."""
    return uploads.stage_bytes(materials_root(home) / ".staging", filename, data, limit, MATERIALS)


def store(home: Path, application_id: int, staged: StagedMaterial) -> str:
    """Move a staged file to its place (one rename); its path relative to the home."""
    target = uploads.store_addressed(staged, materials_root(home) / str(application_id))
    return target.relative_to(home).as_posix()


def stored_file(home: Path, stored_path: str) -> Path:
    """The file of a stored material (its path as ``store`` returned it)."""
    try:
        return uploads.inside(materials_root(home), home / stored_path)
    except Invalid:
        raise InvalidMaterial("材料路径无效") from None
