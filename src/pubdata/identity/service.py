"""Organisations, users, API tokens and login sessions.

Passwords are hashed with argon2; tokens and session cookies are random secrets of which only a
SHA-256 digest is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.audit import service as audit
from pubdata.authz import ANONYMOUS, SCOPES, Actor, Permission, Role, require
from pubdata.db import utcnow
from pubdata.errors import Forbidden
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
from pubdata.identity.models import ApiToken, LoginSession, Organisation, User
from pubdata.identity.schemas import OrganisationCreate, OrganisationKind, UserCreate
from pubdata.standards import uscc_problem

_hasher = PasswordHasher()
TOKEN_PREFIX = "pd_"

# Which roles an organisation kind's users may hold.
KIND_ROLES: dict[OrganisationKind, set[Role]] = {
    OrganisationKind.DEPARTMENT: {Role.DEPARTMENT},
    OrganisationKind.OPERATOR: {Role.OPERATOR, Role.ADMIN},
    OrganisationKind.ENTERPRISE: {Role.ENTERPRISE},
    OrganisationKind.BANK: {Role.BANK},
    OrganisationKind.DATA_MERCHANT: {Role.DATA_MERCHANT},
    OrganisationKind.APPRAISAL_AGENCY: {Role.APPRAISER},
    OrganisationKind.REGULATOR: {Role.REGULATOR},
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
        org_by_id = session.get(Organisation, int(code)) if code.isdigit() and int(code) < 2**31 else None
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


def create_token(
    session: Session, actor: Actor, *, name: str, scopes: list[str], days: int, username: str | None = None
) -> tuple[ApiToken, str]:
    """Issue a token for the actor (or, for administrators, another user). Returns the row and the
    secret, which is never stored and cannot be shown again."""
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
    scope_text = check_scopes(scopes)
    if not 1 <= days <= 3650:
        raise InvalidIdentityInput("有效期应为 1 至 3650 天", field="days")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=secret[:10],
        token_hash=digest_secret(secret),
        scopes=scope_text,
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    return token, secret


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
        session.flush()
    return token


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
    if problem is not None:
        _refuse_token(session, actor_for(token.user, via="token", token_id=token.id), problem[0])
        raise InvalidToken(problem[0], code=problem[1])
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
    return actor_for(token.user, via="token", scopes=frozenset(token.scopes.split()), token_id=token.id)


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


def end_login_session(session: Session, secret: str) -> None:
    login = repo.login_session_by_hash(session, digest_secret(secret))
    if login is not None:
        session.delete(login)
        session.flush()


def ensure_same_organisation(actor: Actor, organisation_id: int | None) -> None:
    if actor.organisation_id is None or actor.organisation_id != organisation_id:
        raise Forbidden("只能操作本机构的数据", code="auth.other_organisation")
