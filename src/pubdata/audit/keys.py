"""The Ed25519 key that signs audit checkpoints, kept outside the database.

Where it comes from, first found wins: ``PUBDATA_AUDIT_SIGNING_KEY`` (the private key itself, PEM or
base64 of its 32-byte seed, e.g. from a secret manager), ``PUBDATA_AUDIT_KEY_FILE`` (a PEM file), or
``$PUBDATA_HOME/audit_signing_key``. A missing file is created on first use with mode 600, atomically
and never over an existing key (two processes starting together end up with the same key). A key
file that other users may read or write is refused, as ssh refuses one.

The public half is what a regulator pins: it verifies checkpoints and cannot make them. Its id is
the SHA-256 of the 32 raw public-key bytes, as Certificate Transparency names a log by its key.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from pubdata.audit.errors import InvalidSigningKey, SigningKeyMissing
from pubdata.settings import Settings

KEY_FILE_NAME = "audit_signing_key"


def key_file(settings: Settings) -> Path:
    """Where the signing key is kept when it is not given in the environment."""
    if settings.audit_key_file is not None:
        return settings.audit_key_file.expanduser().resolve()
    return settings.resolved_home / KEY_FILE_NAME


def signing_key(settings: Settings, *, create: bool = True) -> Ed25519PrivateKey:
    """The platform's signing key; the key file is created on first use unless ``create`` is false."""
    if settings.audit_signing_key is not None:
        return _private_from_text(settings.audit_signing_key.get_secret_value(), "PUBDATA_AUDIT_SIGNING_KEY")
    path = key_file(settings)
    if not path.exists():
        if not create:
            raise SigningKeyMissing(
                f"本机没有审计签名密钥（{path}）：请用 --public-key 指定签发方的公钥，"
                "或设置 PUBDATA_AUDIT_KEY_FILE / PUBDATA_AUDIT_SIGNING_KEY"
            )
        _create_key_file(path)
    _check_private(path)
    return _private_from_text(path.read_text(encoding="ascii", errors="replace"), str(path))


def verifying_key(settings: Settings) -> Ed25519PublicKey:
    """The public half of the local signing key (never creates one: a new key verifies nothing)."""
    return signing_key(settings, create=False).public_key()


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public(key)).hexdigest()


def public_b64(key: Ed25519PublicKey) -> str:
    return base64.b64encode(raw_public(key)).decode("ascii")


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def public_from_text(text: str) -> Ed25519PublicKey:
    """A public key given as PEM (``BEGIN PUBLIC KEY``) or as base64 of its 32 raw bytes."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode())
        except ValueError as exc:
            raise InvalidSigningKey("无法读取公钥（应为 PEM 格式的 Ed25519 公钥）", field="public_key") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise InvalidSigningKey("公钥不是 Ed25519 密钥", field="public_key")
        return key
    raw = _b64(text)
    if raw is None or len(raw) != 32:
        raise InvalidSigningKey("公钥应为 PEM，或 32 字节原始公钥的 base64", field="public_key")
    return Ed25519PublicKey.from_public_bytes(raw)


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return None


def _private_from_text(text: str, where: str) -> Ed25519PrivateKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise InvalidSigningKey(f"无法读取审计签名密钥（{where}）：应为未加密的 PEM 私钥") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise InvalidSigningKey(f"审计签名密钥（{where}）不是 Ed25519 密钥")
        return key
    raw = _b64(text)
    if raw is None or len(raw) != 32:
        raise InvalidSigningKey(f"审计签名密钥（{where}）应为 PEM，或 32 字节种子的 base64")
    return Ed25519PrivateKey.from_private_bytes(raw)


def _check_private(path: Path) -> None:
    if os.name != "posix":
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise InvalidSigningKey(f"审计签名密钥文件 {path} 的权限为 {mode:o}，其他用户可以读写：请执行 chmod 600 {path}")


def _create_key_file(path: Path) -> None:
    """Write a new key to a private temporary file, then link it into place: the key file is never
    seen half-written, and if another process made one first, theirs is kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    staging = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(staging, 0o600)
        with contextlib.suppress(FileExistsError):  # another process created the key first: use theirs
            os.link(staging, path)
    finally:
        staging.unlink(missing_ok=True)
