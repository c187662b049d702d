"""Organisations, users, API tokens and login sessions.

Passwords are hashed with argon2; tokens and session cookies are random secrets of which only a
SHA-256 digest is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from pubdata.audit import service as audit
from pubdata.authz import ANONYMOUS, SCOPES, Actor, Permission, Role, require, scopes_available_to
from pubdata.db import keep_whatever_happens, utcnow
from pubdata.errors import Forbidden, Unauthenticated
from pubdata.identity import repository as repo
from pubdata.identity.errors import (
    DuplicateOrganisation,
    DuplicateUser,
    InvalidCredentials,
    InvalidIdentityInput,
    InvalidToken,
    OrganisationNotFound,
    TokenNotFound,
    UserNotFound,
)
from pubdata.identity.models import ApiToken, LoginSession, OAuthClient, Organisation, User
from pubdata.identity.passwords import check_password
from pubdata.identity.schemas import OrganisationCreate, OrganisationKind, OrganisationRead, UserCreate
from pubdata.settings import get_settings
from pubdata.standards import uscc_problem

_hasher = PasswordHasher()
TOKEN_PREFIX = "pd_"

# Which roles an organisation kind's users may hold.
KIND_ROLES: dict[OrganisationKind, set[Role]] = {
    OrganisationKind.DEPARTMENT: {Role.DEPARTMENT},
    OrganisationKind.OPERATOR: {Role.OPERATOR, Role.ADMIN, Role.FINANCE},
    OrganisationKind.ENTERPRISE: {Role.ENTERPRISE},
    OrganisationKind.BANK: {Role.BANK},
    OrganisationKind.DATA_MERCHANT: {Role.DATA_MERCHANT},
    OrganisationKind.APPRAISAL_AGENCY: {Role.APPRAISER},
    OrganisationKind.REGULATOR: {Role.REGULATOR},
    OrganisationKind.TRUST_COMPANY: {Role.TRUSTEE},
}


def digest_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- organisations ---------------------------------------------------------------------------


def create_organisation(session: Session, actor: Actor, data: OrganisationCreate) -> Organisation:
    require(actor, Permission.IDENTITY_ORG_MANAGE)
    if data.kind == OrganisationKind.ENTERPRISE and not data.uscc:
        raise InvalidIdentityInput("企业必须填写统一社会信用代码", field="uscc")
    if data.uscc:
        problem = uscc_problem(data.uscc)
        if problem:
            raise InvalidIdentityInput(problem, field="uscc")
    if repo.organisation_by_code(session, data.code):
        raise DuplicateOrganisation(f"机构代码已存在：{data.code}")
    if repo.organisation_by_name(session, data.name):
        raise DuplicateOrganisation(f"机构名称已存在：{data.name}")
    org = Organisation(**data.model_dump(mode="python"))
    org.kind = data.kind.value
    session.add(org)
    session.flush()
    return org


def get_organisation(session: Session, actor: Actor, code: str) -> Organisation:
    require(actor, Permission.IDENTITY_ORG_READ)
    org = repo.organisation_by_code(session, code)
    if org is None:
        org_by_id = session.get(Organisation, int(code)) if code.isdecimal() and int(code) < 2**31 else None
        if org_by_id is None:
            raise OrganisationNotFound(f"机构不存在：{code}")
        org = org_by_id
    return org


def list_organisations(session: Session, actor: Actor, kind: str | None = None) -> list[Organisation]:
    require(actor, Permission.IDENTITY_ORG_READ)
    return list(session.scalars(repo.organisations_stmt(kind)))


def organisation_names(session: Session, actor: Actor, codes: list[str]) -> dict[str, str]:
    """Code → name of the given organisations."""
    require(actor, Permission.IDENTITY_ORG_READ)
    return repo.names_by_code(session, codes)


def organisation_names_by_id(session: Session, actor: Actor, ids: list[int]) -> dict[int, str]:
    """Id → name of the given organisations."""
    require(actor, Permission.IDENTITY_ORG_READ)
    if not ids:
        return {}
    return dict(session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).all())


def organisations_by_id(session: Session, actor: Actor, ids: Collection[int]) -> dict[int, OrganisationRead]:
    """Id → the organisation (public facts: code, name, kind) for the given ids."""
    require(actor, Permission.IDENTITY_ORG_READ)
    if not ids:
        return {}
    rows = session.scalars(select(Organisation).where(Organisation.id.in_(list(ids))))
    return {o.id: OrganisationRead.model_validate(o) for o in rows}


def own_organisation(session: Session, actor: Actor) -> Organisation | None:
    """The actor's own organisation (None without one)."""
    return session.get(Organisation, actor.organisation_id) if actor.organisation_id is not None else None


def organisation_ids_by_uscc(session: Session, usccs: Sequence[str]) -> dict[str, int]:
    """Which organisations hold these unified social credit codes: code → organisation id (codes no
    organisation holds are left out). For system work such as notices; reveals nothing to a caller."""
    out: dict[str, int] = {}
    for start in range(0, len(usccs), 500):
        chunk = usccs[start : start + 500]
        rows = session.execute(select(Organisation.uscc, Organisation.id).where(Organisation.uscc.in_(chunk)))
        out.update({uscc: org_id for uscc, org_id in rows if uscc})
    return out


def current_user(session: Session, actor: Actor) -> User:
    """The calling user (401 for an anonymous caller)."""
    if actor.user_id is None:
        raise Unauthenticated("需要登录", code="auth.login_required")
    user = session.get(User, actor.user_id)
    if user is None:
        raise UserNotFound("用户不存在")
    return user


def organisation_kind_counts(session: Session, actor: Actor) -> dict[str, int]:
    require(actor, Permission.IDENTITY_ORG_READ)
    return repo.count_by_kind(session)


# --- users -----------------------------------------------------------------------------------


def create_user(session: Session, actor: Actor, data: UserCreate) -> User:
    require(actor, Permission.IDENTITY_USER_MANAGE)
    if repo.user_by_username(session, data.username):
        raise DuplicateUser(f"用户名已存在：{data.username}")
    org = None
    if data.organisation_code:
        org = repo.organisation_by_code(session, data.organisation_code)
        if org is None:
            raise OrganisationNotFound(f"机构不存在：{data.organisation_code}")
    roles: list[Role] = []
    for name in data.roles:
        try:
            roles.append(Role(name))
        except ValueError:
            raise InvalidIdentityInput(f"未知角色：{name}", field="roles") from None
    if org is not None:
        allowed = KIND_ROLES[OrganisationKind(org.kind)]
        wrong = [r for r in roles if r not in allowed]
        if wrong:
            raise InvalidIdentityInput(
                f"角色 {wrong[0].value} 不适用于{OrganisationKind(org.kind).label}机构", field="roles"
            )
        if not roles:
            roles = sorted(allowed - {Role.ADMIN})
    check_password(data.password, [data.username, data.display_name])
    user = User(
        username=data.username,
        display_name=data.display_name,
        password_hash=_hasher.hash(data.password),
        organisation=org,
        roles=",".join(r.value for r in roles),
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> User:
    user = repo.user_by_username(session, username)
    if user is None:
        raise UserNotFound(f"用户不存在：{username}")
    return user


def actor_for(user: User, *, via: str, scopes: frozenset[str] | None = None, token_id: int | None = None) -> Actor:
    org = user.organisation
    return Actor(
        user_id=user.id,
        username=user.username,
        organisation_id=org.id if org else None,
        organisation_kind=org.kind if org else None,
        roles=frozenset(Role(r) for r in user.role_list),
        scopes=scopes,
        via=via,
        token_id=token_id,
    )


def authenticate(session: Session, username: str, password: str) -> User:
    """Check a username and password; the same error whether the user or the password is wrong."""
    user = repo.user_by_username(session, username)
    if user is None or not user.is_active:
        _hasher.hash(password)  # same cost either way
        raise InvalidCredentials("用户名或密码错误")
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise InvalidCredentials("用户名或密码错误") from None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


# --- API tokens ------------------------------------------------------------------------------


def check_scopes(scopes: list[str]) -> str:
    """The scopes as stored (sorted, space-separated), if each is known."""
    if not scopes:
        raise InvalidIdentityInput("至少需要一个权限范围", field="scopes")
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise InvalidIdentityInput(f"未知权限范围：{unknown[0]}（可用：{', '.join(sorted(SCOPES))}）", field="scopes")
    return " ".join(sorted(set(scopes)))


def check_scopes_for(actor: Actor, user: User, scopes: list[str]) -> str:
    """The scopes as stored, if each is known, held by the calling credential (a token may only hand
    on scopes it has itself; a portal session or the CLI is not narrowed) and available to the
    user the credential is for (``authz.scopes_available_to`` their roles)."""
    text = check_scopes(scopes)
    wanted = text.split()
    if actor.scopes is not None:
        beyond = [s for s in wanted if s not in actor.scopes]
        if beyond:
            raise Forbidden(f"不能授予调用令牌本身没有的权限范围：{'、'.join(beyond)}", code="identity.scope_not_held")
    available = scopes_available_to(frozenset(Role(r) for r in user.role_list))
    unavailable = [s for s in wanted if s not in available]
    if unavailable:
        raise InvalidIdentityInput(
            f"用户 {user.username} 的角色不能使用权限范围：{'、'.join(unavailable)}"
            f"（可用：{', '.join(sorted(available))}）",
            field="scopes",
            code="identity.scope_not_available",
        )
    return text


def _calling_token(session: Session, actor: Actor) -> ApiToken | None:
    """The token the actor is calling with (None for a portal session, the CLI or the system)."""
    if actor.token_id is None:
        return None
    token = session.get(ApiToken, actor.token_id)
    if token is None:  # resolved moments ago in this request
        raise InvalidToken("API 令牌无效")
    return token


def create_token(
    session: Session,
    actor: Actor,
    *,
    name: str,
    scopes: list[str],
    days: int | None = None,
    username: str | None = None,
) -> tuple[ApiToken, str]:
    """Issue a token for the actor (or, for administrators, another user). Returns the row and the
    secret, which is never stored and cannot be shown again. ``days`` defaults to
    ``settings.token_days``.

    A token never holds more than what issued it: its scopes are a subset of the calling token's
    and available to the user's roles; its lifetime is at most ``settings.token_max_days`` and, when
    a token mints it, ends no later than that token's; a token minted by a token that came through an
    OAuth client belongs to that client (revoked with it); revoking the minting token revokes it."""
    require(actor, Permission.IDENTITY_TOKEN_CREATE)
    if username and username != actor.username:
        require(actor, Permission.IDENTITY_TOKEN_MANAGE_ANY)
        user = get_user(session, username)
    else:
        if actor.user_id is None:
            raise InvalidIdentityInput("必须指定令牌所属用户", field="username")
        own = session.get(User, actor.user_id)
        if own is None:
            raise UserNotFound("用户不存在")
        user = own
    scope_text = check_scopes_for(actor, user, scopes)
    settings = get_settings()
    max_days = settings.token_max_days
    if days is None:
        days = min(settings.token_days, max_days)
    if not 1 <= days <= max_days:
        raise InvalidIdentityInput(f"有效期应为 1 至 {max_days} 天", field="days")
    now = utcnow()
    expires_at = now + timedelta(days=days)
    parent = _calling_token(session, actor)
    if parent is not None:
        expires_at = min(expires_at, parent.expires_at)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=secret[:10],
        token_hash=digest_secret(secret),
        scopes=scope_text,
        expires_at=expires_at,
        rate_per_minute=parent.rate_per_minute if parent is not None else None,
        client_id=parent.client_id if parent is not None else None,
        parent_id=parent.id if parent is not None else None,
    )
    session.add(token)
    session.flush()
    return token, secret


def token_expiry(session: Session, token_id: int) -> datetime | None:
    """When an API token expires (None: no such token): what a credential it mints may not outlive."""
    return session.scalar(select(ApiToken.expires_at).where(ApiToken.id == token_id))


def list_tokens(session: Session, actor: Actor) -> list[ApiToken]:
    require(actor, Permission.IDENTITY_TOKEN_CREATE)
    assert actor.user_id is not None
    return repo.tokens_of_user(session, actor.user_id)


def revoke_token(session: Session, actor: Actor, token_id: int) -> ApiToken:
    require(actor, Permission.IDENTITY_TOKEN_CREATE)
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != actor.user_id and not actor.can(Permission.IDENTITY_TOKEN_MANAGE_ANY)):
        raise TokenNotFound(f"令牌不存在：{token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    revoke_descendants(session, [token.id], token.revoked_at)
    session.flush()
    return token


def revoke_descendants(session: Session, token_ids: list[int], at: datetime) -> None:
    """Revoke every token minted (directly or not) by these tokens, and the OAuth clients they
    registered with those clients' tokens."""
    seen: set[int] = set()
    frontier = set(token_ids)
    while frontier:
        seen |= frontier
        clients = list(session.scalars(select(OAuthClient.id).where(OAuthClient.created_by_token_id.in_(frontier))))
        if clients:
            session.execute(
                update(OAuthClient)
                .where(OAuthClient.id.in_(clients), OAuthClient.revoked_at.is_(None))
                .values(revoked_at=at)
            )
        minted_by: ColumnElement[bool] = ApiToken.parent_id.in_(frontier)
        if clients:
            minted_by = or_(minted_by, ApiToken.client_id.in_(clients))
        children = set(session.scalars(select(ApiToken.id).where(minted_by)))
        if children:
            session.execute(
                update(ApiToken).where(ApiToken.id.in_(children), ApiToken.revoked_at.is_(None)).values(revoked_at=at)
            )
        frontier = children - seen


def _refuse_token(session: Session, actor: Actor, reason: str) -> None:
    audit.refuse(session, actor, audit.Event("auth.token", reason=reason))


def actor_from_token(session: Session, secret: str) -> Actor:
    """Resolve an API token to its actor, refusing unknown, revoked, expired or disabled ones."""
    token = repo.token_by_hash(session, digest_secret(secret.strip()))
    if token is None:
        _refuse_token(session, ANONYMOUS, "API 令牌无效（未知的令牌）")
        raise InvalidToken("API 令牌无效")
    now = utcnow()
    problem = None
    if token.revoked_at is not None:
        problem = ("API 令牌已被吊销", "identity.token_revoked")
    elif token.expires_at <= now:
        problem = ("API 令牌已过期", "identity.token_expired")
    elif not token.user.is_active:
        problem = ("令牌所属用户已停用", "identity.invalid_token")
    elif token.client_id is not None and _client_revoked(session, token.client_id):
        problem = ("签发该令牌的 OAuth 客户端已被吊销", "identity.token_revoked")
    if problem is not None:
        _refuse_token(session, actor_for(token.user, via="token", token_id=token.id), problem[0])
        raise InvalidToken(problem[0], code=problem[1])
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        # written as the request ends: a request writes nothing before its counters are taken apart
        # (``ratelimit.counted_apart``), which on SQLite would wait for the request's own write lock
        token_id = token.id
        keep_whatever_happens(
            session, lambda s: s.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
        )
    return actor_for(token.user, via="token", scopes=frozenset(token.scopes.split()), token_id=token.id)


def _client_revoked(session: Session, client_id: int) -> bool:
    """Whether the OAuth client a token belongs to is revoked (``revoke_client`` revokes its tokens
    too; this check holds even if a token was missed)."""
    revoked = session.execute(select(OAuthClient.revoked_at).where(OAuthClient.id == client_id)).first()
    return revoked is None or revoked[0] is not None


# --- portal login sessions -------------------------------------------------------------------


def start_login_session(session: Session, user: User, hours: int) -> tuple[LoginSession, str]:
    secret = secrets.token_urlsafe(32)
    login = LoginSession(
        session_hash=digest_secret(secret),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(24),
        expires_at=utcnow() + timedelta(hours=hours),
    )
    session.add(login)
    session.flush()
    return login, secret


def find_login_session(session: Session, secret: str) -> LoginSession | None:
    login = repo.login_session_by_hash(session, digest_secret(secret))
    if login is None or login.expires_at <= utcnow() or not login.user.is_active:
        return None
    return login


def check_login_csrf(login: LoginSession, value: str | None) -> None:
    """A state-changing API call made with the portal's session cookie carries the session's own CSRF
    token (constant-time comparison); ``Forbidden`` otherwise."""
    if not value or not hmac.compare_digest(login.csrf_token.encode(), value.strip().encode()):
        raise Forbidden(
            "使用登录会话调用修改数据的接口时必须在 X-CSRF-Token 请求头中提供页面的 CSRF 令牌（或改用 API 令牌）",
            code="auth.csrf_failed",
        )


def end_login_session(session: Session, secret: str) -> None:
    login = repo.login_session_by_hash(session, digest_secret(secret))
    if login is not None:
        session.delete(login)
        session.flush()


def ensure_same_organisation(actor: Actor, organisation_id: int | None) -> None:
    if actor.organisation_id is None or actor.organisation_id != organisation_id:
        raise Forbidden("只能操作本机构的数据", code="auth.other_organisation")
