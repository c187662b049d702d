"""Organisations, users, API tokens and portal login sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pubdata.db import Base, utcnow


class Organisation(Base):
    __tablename__ = "identity_organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # URL-safe name, e.g. qd-scjgj
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)  # see schemas.OrganisationKind
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    district: Mapped[str | None] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="organisation")


class User(Base):
    __tablename__ = "identity_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("identity_organisation.id"), index=True)
    roles: Mapped[str] = mapped_column(String(200), default="")  # comma-separated authz.Role values
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation | None] = relationship(back_populates="users", lazy="joined")

    @property
    def role_list(self) -> list[str]:
        return [r for r in self.roles.split(",") if r]


class ApiToken(Base):
    """An API token. Only the SHA-256 of the secret is kept; the secret is shown once."""

    __tablename__ = "identity_api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("identity_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))  # first characters, to recognise a token in lists
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(200))  # space-separated
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    rate_per_minute: Mapped[int | None]  # None: the platform default (PUBDATA_TOKEN_RATE_PER_MINUTE)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("identity_oauth_client.id", ondelete="CASCADE"))
    # the token that minted this one through the API: revoking it revokes this one too
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("identity_api_token.id"), index=True)

    user: Mapped[User] = relationship(lazy="joined")


class OAuthClient(Base):
    """A consumer system's OAuth2 client (client credentials grant). It acts as the user who
    registered it, within its scopes; only the SHA-256 of its secret is kept."""

    __tablename__ = "identity_oauth_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(48), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int] = mapped_column(ForeignKey("identity_user.id"), index=True)
    scopes: Mapped[str] = mapped_column(String(200))
    rate_per_minute: Mapped[int | None]
    token_minutes: Mapped[int] = mapped_column(default=60)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    # the API token that registered it, if any: the client works only while that token does
    created_by_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("identity_api_token.id", use_alter=True), index=True
    )

    user: Mapped[User] = relationship(lazy="joined")


class TokenUsage(Base):
    """Calls made with a token per minute: the per-token rate limit, shared by every server process
    and kept across restarts. Old windows are pruned as new ones open."""

    __tablename__ = "identity_token_usage"

    token_id: Mapped[int] = mapped_column(ForeignKey("identity_api_token.id", ondelete="CASCADE"), primary_key=True)
    window: Mapped[str] = mapped_column(String(20), primary_key=True)  # "m:2026-11-25T10:31" (UTC)
    calls: Mapped[int] = mapped_column(default=0)


class LoginThrottle(Base):
    """Failed sign-ins counted per account and per address, shared by every server process: past a
    few, each further attempt waits longer (see ``identity.login``). Keys are digests, so the table
    holds neither the usernames tried nor the addresses."""

    __tablename__ = "identity_login_throttle"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)  # "account:<sha256>" | "address:<sha256>"
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(index=True)


class LoginSession(Base):
    """A portal login. The cookie holds a random secret; only its hash is stored."""

    __tablename__ = "identity_login_session"
    __table_args__ = (UniqueConstraint("session_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("identity_user.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]

    user: Mapped[User] = relationship(lazy="joined")
