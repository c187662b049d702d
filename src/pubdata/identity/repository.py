"""Every query of the identity domain."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from pubdata.identity.models import ApiToken, LoginSession, Organisation, User


def organisation_by_code(session: Session, code: str) -> Organisation | None:
    return session.scalar(select(Organisation).where(Organisation.code == code))


def organisation_by_name(session: Session, name: str) -> Organisation | None:
    return session.scalar(select(Organisation).where(Organisation.name == name))


def organisations_stmt(kind: str | None = None) -> Select:
    stmt = select(Organisation).order_by(Organisation.code)
    if kind:
        stmt = stmt.where(Organisation.kind == kind)
    return stmt


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))


def tokens_of_user(session: Session, user_id: int) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)))


def login_session_by_hash(session: Session, session_hash: str) -> LoginSession | None:
    return session.scalar(select(LoginSession).where(LoginSession.session_hash == session_hash))


def count_by_kind(session: Session) -> dict[str, int]:
    rows = session.execute(select(Organisation.kind, func.count()).group_by(Organisation.kind))
    return {kind: n for kind, n in rows}


def names_by_code(session: Session, codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = session.execute(select(Organisation.code, Organisation.name).where(Organisation.code.in_(codes)))
    return {code: name for code, name in rows}
