"""Signed checkpoints of the audit chain, after Certificate Transparency's signed tree heads.

A checkpoint says "the chain had ``length`` records and the last one's hash was ``head_hash`` at
``at``", signed with the platform's Ed25519 key (``keys``). Kept outside the platform (the regulator's
files, a daily cron job), it makes a rewrite of the chain detectable even by someone who can change
every row of the database: a later chain must still hold, at that length, a record whose hash —
recomputed from its content — is the checkpoint's head.

The file is JSON::

    {"format": "pubdata-audit-checkpoint/1", "length": 1234, "head_hash": "<64 hex>",
     "at": "2025-01-31T16:00:00Z", "key_id": "<64 hex>", "public_key": "<base64>",
     "signature": "<base64>"}

The signature is Ed25519 over the canonical JSON of ``format``, ``length``, ``head_hash``, ``at`` and
``key_id`` (keys sorted, no spaces, ASCII). ``key_id`` is the SHA-256 of the raw public key;
``public_key`` is there for convenience only: a verifier checks with the key it pinned, never with the
one a file carries.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from pubdata.audit import keys
from pubdata.audit.errors import InvalidCheckpoint

FORMAT = "pubdata-audit-checkpoint/1"
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Checkpoint:
    length: int
    head_hash: str
    at: str
    key_id: str
    public_key: str
    signature: str
    format: str = FORMAT

    def signed_bytes(self) -> bytes:
        return signed_bytes(self.length, self.head_hash, self.at, self.key_id)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        return {"format": out.pop("format"), **out}

    def dumps(self) -> str:
        return json.dumps(self.as_json(), ensure_ascii=False, indent=2) + "\n"


def signed_bytes(length: int, head_hash: str, at: str, key_id: str) -> bytes:
    """The exact bytes a checkpoint's signature covers."""
    body = {"format": FORMAT, "length": length, "head_hash": head_hash, "at": at, "key_id": key_id}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def sign(key: Ed25519PrivateKey, length: int, head_hash: str, at: datetime) -> Checkpoint:
    public = key.public_key()
    when = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    kid = keys.key_id(public)
    signature = key.sign(signed_bytes(length, head_hash, when, kid))
    return Checkpoint(
        length=length,
        head_hash=head_hash,
        at=when,
        key_id=kid,
        public_key=keys.public_b64(public),
        signature=base64.b64encode(signature).decode("ascii"),
    )


def parse(data: str | bytes | dict[str, Any]) -> Checkpoint:
    """A checkpoint from its JSON (text or parsed); ``InvalidCheckpoint`` says what is wrong."""
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidCheckpoint("检查点文件不是 JSON") from exc
    if not isinstance(data, dict):
        raise InvalidCheckpoint("检查点应为 JSON 对象")
    if data.get("format") != FORMAT:
        raise InvalidCheckpoint(f"不是审计检查点（format 应为 {FORMAT}）")
    length, head, at, kid, signature = (data.get(k) for k in ("length", "head_hash", "at", "key_id", "signature"))
    if not isinstance(length, int) or isinstance(length, bool) or length < 0:
        raise InvalidCheckpoint("检查点的 length 应为非负整数")
    if not isinstance(head, str) or not _HEX64.fullmatch(head):
        raise InvalidCheckpoint("检查点的 head_hash 应为 64 位十六进制")
    if not isinstance(kid, str) or not _HEX64.fullmatch(kid):
        raise InvalidCheckpoint("检查点的 key_id 应为 64 位十六进制")
    if not isinstance(at, str) or not at:
        raise InvalidCheckpoint("检查点缺少签署时间 at")
    if not isinstance(signature, str):
        raise InvalidCheckpoint("检查点缺少签名 signature")
    public = data.get("public_key")
    return Checkpoint(length, head, at, kid, public if isinstance(public, str) else "", signature)


def signature_problem(cp: Checkpoint, key: Ed25519PublicKey) -> str | None:
    """Why ``cp`` was not signed by ``key`` over exactly its content, or None when it was."""
    kid = keys.key_id(key)
    if cp.key_id != kid:
        return f"检查点由另一把密钥签署（密钥标识 {cp.key_id[:16]}…），不是验证所用的公钥（{kid[:16]}…）"
    try:
        raw = base64.b64decode(cp.signature, validate=True)
        key.verify(raw, cp.signed_bytes())
    except (binascii.Error, ValueError, InvalidSignature):
        return "检查点的签名无效：其长度、哈希或时间被改动过，或它不是由这把密钥签署的"
    return None
