"""Machine access: OAuth2 client credentials for consumer systems, and per-token rate limits.

A client is registered by a user (or, for another user, an administrator) with scopes that narrow
what that user may do — never beyond the registering token's scopes or the user's roles; its secret
is shown once. A client registered with a token works only while that token does (revoked with it,
no new access tokens once it expired), and a token that itself came from a client cannot register
clients (the new client would outlive the one it came from). ``issue_client_token`` answers the client
credentials grant with a short-lived API token tied to the client. ``charge_token`` counts each call
against the token's rate (per-minute windows stored in the database: shared by every process, kept
across restarts) and refuses past it with ``RateLimited`` (429, ``Retry-After``)."""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from pubdata import ratelimit
from pubdata.authz import Actor, Permission, Role, require, scopes_available_to
from pubdata.db import utcnow
from pubdata.errors import Forbidden, RateLimited, Unauthenticated
from pubdata.identity import repository as repo
from pubdata.identity.errors import InvalidIdentityInput, TokenNotFound, UserNotFound
from pubdata.identity.models import ApiToken, OAuthClient, TokenUsage, User
from pubdata.identity.service import TOKEN_PREFIX, check_scopes_for, digest_secret, revoke_descendants

CLIENT_PREFIX = "pdc_"
MAX_TOKEN_MINUTES = 24 * 60


class InvalidClient(Unauthenticated):
    code = "identity.invalid_client"


def create_client(
    session: Session,
    actor: Actor,
    *,
    name: str,
    scopes: list[str],
    rate_per_minute: int | None = None,
    token_minutes: int = 60,
    username: str | None = None,
) -> tuple[OAuthClient, str]:
    """Register an OAuth2 client acting as the actor (or, for administrators, ``username``).
    Returns the client and its secret, which cannot be shown again."""
    require(actor, Permission.IDENTITY_TOKEN_CREATE)
    if username and username != actor.username:
        require(actor, Permission.IDENTITY_TOKEN_MANAGE_ANY)
        user = repo.user_by_username(session, username)
    else:
        user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise UserNotFound(f"用户不存在：{username or actor.username}")
    calling = session.get(ApiToken, actor.token_id) if actor.token_id is not None else None
    if calling is not None and calling.client_id is not None:
        raise Forbidden("通过 OAuth 客户端获得的令牌不能注册新的客户端", code="identity.client_token_cannot_register")
    scope_text = check_scopes_for(actor, user, scopes)
    if not name.strip():
        raise InvalidIdentityInput("客户端名称不能为空", field="name")
    if rate_per_minute is not None and not 1 <= rate_per_minute <= 100_000:
        raise InvalidIdentityInput("每分钟调用上限应为 1 至 100000", field="rate_per_minute")
    if not 5 <= token_minutes <= MAX_TOKEN_MINUTES:
        raise InvalidIdentityInput("访问令牌有效期应为 5 至 1440 分钟", field="token_minutes")
    secret = secrets.token_urlsafe(32)
    client = OAuthClient(
        client_id=CLIENT_PREFIX + secrets.token_hex(12),
        secret_hash=digest_secret(secret),
        name=name.strip(),
        user_id=user.id,
        scopes=scope_text,
        rate_per_minute=rate_per_minute,
        token_minutes=token_minutes,
        created_by_token_id=calling.id if calling is not None else None,
    )
    session.add(client)
    session.flush()
    return client, secret


def list_clients(session: Session, actor: Actor) -> list[OAuthClient]:
    require(actor, Permission.IDENTITY_TOKEN_CREATE)
    return list(
        session.scalars(select(OAuthClient).where(OAuthClient.user_id == actor.user_id).order_by(OAuthClient.id))
    )


def revoke_client(session: Session, actor: Actor, client_id: str) -> OAuthClient:
    """Revoke a client and every access token it was issued."""
    require(actor, Permission.IDENTITY_TOKEN_CREATE)
    client = session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
    if client is None or (client.user_id != actor.user_id and not actor.can(Permission.IDENTITY_TOKEN_MANAGE_ANY)):
        raise TokenNotFound(f"客户端不存在：{client_id}")
    now = utcnow()
    client.revoked_at = client.revoked_at or now
    session.execute(
        update(ApiToken).where(ApiToken.client_id == client.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now)
    )
    # and what those tokens minted or registered in turn
    revoke_descendants(session, list(session.scalars(select(ApiToken.id).where(ApiToken.client_id == client.id))), now)
    session.flush()
    return client


def issue_client_token(
    session: Session, client_id: str, client_secret: str, scope: str | None = None
) -> tuple[ApiToken, str, OAuthClient]:
    """The client credentials grant: a short-lived access token for a valid client, with the
    requested scopes (a subset of the client's, each still available to the user's roles) or all of
    the client's that are. A client registered by a token gets nothing once that token is revoked or
    expired, and its access tokens end no later than that token."""
    client = session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
    if client is None or not hmac.compare_digest(client.secret_hash, digest_secret(client_secret)):
        raise InvalidClient("客户端 ID 或密钥错误")
    if client.revoked_at is not None:
        raise InvalidClient("客户端已被吊销", code="identity.client_revoked")
    if not client.user.is_active:
        raise InvalidClient("客户端所属用户已停用")
    now = utcnow()
    expires_at = now + timedelta(minutes=client.token_minutes)
    if client.created_by_token_id is not None:
        creator = session.get(ApiToken, client.created_by_token_id)
        if creator is None or creator.revoked_at is not None or creator.expires_at <= now:
            raise InvalidClient("注册该客户端的 API 令牌已失效", code="identity.client_revoked")
        expires_at = min(expires_at, creator.expires_at)
    available = scopes_available_to(frozenset(Role(r) for r in client.user.role_list))
    allowed = [s for s in client.scopes.split() if s in available]  # the user's roles may have shrunk
    wanted = scope.split() if scope else allowed
    extra = [s for s in wanted if s not in allowed]
    if extra:
        raise InvalidIdentityInput(
            f"客户端无此权限范围：{'、'.join(extra)}", field="scope", code="identity.invalid_scope"
        )
    if not wanted:
        raise InvalidIdentityInput("客户端没有可用的权限范围", field="scope", code="identity.invalid_scope")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=client.user_id,
        name=f"oauth:{client.client_id}",
        prefix=secret[:10],
        token_hash=digest_secret(secret),
        scopes=" ".join(sorted(set(wanted))),
        expires_at=expires_at,
        rate_per_minute=client.rate_per_minute,
        client_id=client.id,
    )
    session.add(token)
    session.flush()
    return token, secret, client


def charge_token(session: Session, actor: Actor, default_rate: int) -> None:
    """Count one more call against the actor's token's per-minute rate, or refuse it (``RateLimited``,
    nothing counted) past the rate. The call is counted first and atomically (``ratelimit.take``), so
    concurrent calls never get past the rate, apart from the request (``ratelimit.counted_apart``)."""
    if actor.token_id is None:
        return
    token = session.get(ApiToken, actor.token_id)
    rate = (token.rate_per_minute if token else None) or default_rate
    now = datetime.now(UTC)
    window = "m:" + now.strftime("%Y-%m-%dT%H:%M")
    token_id = actor.token_id

    def count(s: Session) -> bool:
        if not ratelimit.take(s, TokenUsage, {"token_id": token_id}, window, rate):
            return False
        s.execute(delete(TokenUsage).where(TokenUsage.token_id == token_id, TokenUsage.window < window))
        return True

    if not ratelimit.counted_apart(session, count):
        raise RateLimited(f"令牌调用过于频繁：每分钟最多 {rate} 次", retry_after=60 - now.second)
