"""Recipient profiles: issued by a signed-in user for themselves, shown once, expiring, revocable by
the holder and by the operator or an administrator. A profile reads as its holder reads (the same
grants, open data, masks and quotas), with the ``read`` scope at most, and nothing else: it cannot
change anything on the platform. Issuing, revoking and refused authentications are audited."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pubdata.audit import service as audit
from pubdata.authz import ANONYMOUS, Actor, Permission, require
from pubdata.db import keep_whatever_happens, utcnow
from pubdata.errors import Forbidden
from pubdata.identity import service as identity
from pubdata.settings import get_settings
from pubdata.sharing.errors import InvalidProfileInput, InvalidRecipientToken, ProfileNotFound
from pubdata.sharing.models import SharingProfile
from pubdata.sharing.schemas import ProfileRead

TOKEN_PREFIX = "pds_"
PROTOCOL_PATH = "/delta-sharing"
RECIPIENT_SCOPES = frozenset({"read"})
VIA = "sharing"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def profile_status(profile: SharingProfile, now: datetime | None = None) -> str:
    if profile.revoked_at is not None:
        return "revoked"
    if _aware(profile.expires_at) <= (now or utcnow()):
        return "expired"
    return "active"


def profile_read(profile: SharingProfile) -> ProfileRead:
    out = ProfileRead.model_validate(profile)
    out.status = profile_status(profile)
    return out


def may_manage_any(actor: Actor) -> bool:
    """Whether the actor may see and revoke every profile (the operator, administrators)."""
    return actor.can(Permission.IDENTITY_TOKEN_MANAGE_ANY) or actor.can(Permission.ACCESS_GRANT_ISSUE)


def issue_profile(
    session: Session, actor: Actor, *, name: str, days: int | None = None, base_url: str
) -> tuple[SharingProfile, dict[str, Any]]:
    """Issue a recipient profile for the calling user. Returns the row and the profile file (the
    JSON a Delta Sharing client reads), whose bearer token is never stored and cannot be shown
    again. ``days`` defaults to ``settings.sharing_token_days``, at most ``sharing_token_max_days``;
    a profile issued with an API token never outlives that token and needs it to hold ``read``."""
    require(actor, Permission.IDENTITY_TOKEN_CREATE)
    user = identity.current_user(session, actor)
    if actor.scopes is not None and not actor.scopes >= RECIPIENT_SCOPES:
        raise Forbidden("签发共享凭证需要调用令牌具备 read 权限范围", code="identity.scope_not_held")
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidProfileInput("凭证名称应为 1 至 100 个字符", field="name")
    settings = get_settings()
    max_days = settings.sharing_token_max_days
    days = min(settings.sharing_token_days, max_days) if days is None else days
    if not 1 <= days <= max_days:
        raise InvalidProfileInput(f"有效期应为 1 至 {max_days} 天", field="days")
    now = utcnow()
    expires_at = now + timedelta(days=days)
    if actor.token_id is not None:
        token_expiry = identity.token_expiry(session, actor.token_id)
        if token_expiry is not None:
            expires_at = min(expires_at, _aware(token_expiry))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    profile = SharingProfile(
        user_id=user.id,
        organisation_id=actor.organisation_id,
        name=name,
        prefix=secret[:10],
        token_hash=_digest(secret),
        created_at=now,
        expires_at=expires_at,
    )
    session.add(profile)
    session.flush()
    audit.record(session, actor, audit.Event("sharing.profile_issue", details={"profile_id": profile.id, "days": days}))
    return profile, profile_file(base_url, secret, expires_at)


def profile_file(base_url: str, secret: str, expires_at: datetime) -> dict[str, Any]:
    """The profile file format of the Delta Sharing protocol (version 1)."""
    return {
        "shareCredentialsVersion": 1,
        "endpoint": base_url.rstrip("/") + PROTOCOL_PATH,
        "bearerToken": secret,
        "expirationTime": _aware(expires_at).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
    }


def list_profiles(session: Session, actor: Actor, *, everyone: bool = False) -> list[ProfileRead]:
    """The calling user's profiles, newest first; with ``everyone``, every profile (the operator and
    administrators only)."""
    require(actor, Permission.IDENTITY_TOKEN_CREATE)
    stmt = select(SharingProfile)
    if everyone:
        if not may_manage_any(actor):
            raise Forbidden("只有运营方或管理员可以查看全部共享凭证", code="sharing.forbidden")
    else:
        if actor.user_id is None:
            return []
        stmt = stmt.where(SharingProfile.user_id == actor.user_id)
    return [profile_read(p) for p in session.scalars(stmt.order_by(SharingProfile.id.desc()).limit(500))]


def revoke_profile(session: Session, actor: Actor, profile_id: int, reason: str = "") -> ProfileRead:
    """Revoke a profile: its holder, or the operator or an administrator (anyone else: not found).
    Takes effect on the next call, including the file URLs already handed out."""
    require(actor, Permission.IDENTITY_TOKEN_CREATE)
    profile = session.get(SharingProfile, profile_id)
    if profile is None or (profile.user_id != actor.user_id and not may_manage_any(actor)):
        raise ProfileNotFound(f"共享凭证不存在：{profile_id}")
    if profile.revoked_at is None:
        profile.revoked_at = utcnow()
        profile.revoked_by = actor.user_id
        profile.revoke_reason = reason.strip() or None
        session.flush()
        event = audit.Event("sharing.profile_revoke", reason=reason.strip(), details={"profile_id": profile.id})
        audit.record(session, actor, event)
    return profile_read(profile)


@dataclass(frozen=True)
class Recipient:
    """Who calls the protocol: the profile and the actor it reads as."""

    profile_id: int
    actor: Actor


def recipient_from_token(session: Session, secret: str | None) -> Recipient:
    """Resolve a bearer token to its recipient, refusing (401, audited) unknown, expired and revoked
    profiles and profiles whose user is disabled."""
    if not secret:
        raise InvalidRecipientToken("需要 Delta Sharing 凭证（Authorization: Bearer …）")
    profile = session.scalar(select(SharingProfile).where(SharingProfile.token_hash == _digest(secret.strip())))
    if profile is None:
        audit.refuse(session, ANONYMOUS, audit.Event("sharing.auth", reason="共享凭证无效（未知的凭证）"))
        raise InvalidRecipientToken("共享凭证无效")
    user = identity.current_user(session, Actor(user_id=profile.user_id))
    actor = identity.actor_for(user, via=VIA, scopes=RECIPIENT_SCOPES)
    status = profile_status(profile)
    problem = {"revoked": "共享凭证已被吊销", "expired": "共享凭证已过期"}.get(status)
    if problem is None and not user.is_active:
        problem = "凭证所属用户已停用"
    if problem is not None:
        audit.refuse(session, actor, audit.Event("sharing.auth", reason=problem, details={"profile_id": profile.id}))
        raise InvalidRecipientToken(problem, code=f"sharing.token_{status}" if status != "active" else None)
    now = utcnow()
    if profile.last_used_at is None or now - _aware(profile.last_used_at) > timedelta(minutes=1):
        profile_id = profile.id
        keep_whatever_happens(
            session,
            lambda s: s.execute(update(SharingProfile).where(SharingProfile.id == profile_id).values(last_used_at=now)),
        )
    return Recipient(profile.id, actor)


def profile_active(session: Session, profile_id: int) -> bool:
    """Whether the profile may still fetch files (neither revoked nor expired)."""
    profile = session.get(SharingProfile, profile_id)
    return profile is not None and profile_status(profile) == "active"
