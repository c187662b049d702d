"""Signing in with a password, throttled per account and per address.

Failed attempts are counted in ``identity_login_throttle`` (one row per account and one per address,
keyed by a digest), so every server process sees the same counts and a restart forgets nothing.
The first ``max_failures`` failures of an account (``max_failures_per_address`` of an address) cost
nothing; from then on each further attempt must wait ``BASE_WAIT`` seconds, doubling with every
failure up to ``max_wait`` seconds. A throttled attempt is refused before the password is checked
(``LoginThrottled``, 429 with ``Retry-After``), so guessing on gains nothing. Counts older than
``FORGET_AFTER`` start again; a successful sign-in clears its account's count (not its address's,
so one good account cannot clear an address that is guessing at others). Every failure and every
throttled attempt is recorded in the audit trail (``auth.login``, refused)."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pubdata.audit import service as audit
from pubdata.authz import ANONYMOUS
from pubdata.db import keep_whatever_happens, utcnow
from pubdata.errors import RateLimited
from pubdata.identity.errors import InvalidCredentials
from pubdata.identity.models import LoginThrottle, User
from pubdata.identity.service import authenticate

BASE_WAIT = 15  # seconds, after the last free failure; doubles with each further one
FORGET_AFTER = timedelta(hours=24)


class LoginThrottled(RateLimited):
    code = "identity.login_throttled"


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5
    max_failures_per_address: int = 20
    max_wait: int = 900


def _key(kind: str, value: str) -> str:
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()}"


def account_key(username: str) -> str:
    return _key("account", username.strip().lower())


def address_key(address: str) -> str:
    return _key("address", address)


def wait_after(failures: int, free: int, max_wait: int) -> int:
    """Seconds an attempt must wait after ``failures`` failures of which ``free`` cost nothing."""
    if failures < free:
        return 0
    return min(max_wait, BASE_WAIT * 2 ** min(failures - free, 30))


def _retry_after(session: Session, key: str, free: int, max_wait: int, now: datetime) -> int:
    row = session.execute(
        select(LoginThrottle.failures, LoginThrottle.last_failure_at).where(LoginThrottle.key == key)
    ).first()
    if row is None or row.last_failure_at <= now - FORGET_AFTER:
        return 0
    until = row.last_failure_at + timedelta(seconds=wait_after(row.failures, free, max_wait))
    return max(0, math.ceil((until - now).total_seconds()))


def _count_failure(session: Session, key: str, now: datetime) -> None:
    """One more failure for the key (``UPDATE``, or ``INSERT`` when new; safe when processes race)."""
    session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == key, LoginThrottle.last_failure_at <= now - FORGET_AFTER)
        .values(failures=0)
    )
    bump = update(LoginThrottle).where(LoginThrottle.key == key)
    bump = bump.values(failures=LoginThrottle.failures + 1, last_failure_at=now)
    if session.execute(bump).rowcount == 0:  # type: ignore[attr-defined]
        try:
            with session.begin_nested():
                session.add(LoginThrottle(key=key, failures=1, last_failure_at=now))
        except IntegrityError:
            session.execute(bump)


def _refuse(session: Session, username: str, address: str, reason: str) -> None:
    details = {"username": username[:64], "address": address}
    audit.refuse(session, ANONYMOUS, audit.Event("auth.login", reason=reason, details=details))


def login(session: Session, username: str, password: str, address: str, policy: LoginPolicy) -> User:
    """Check a username and password from a client address, within the throttle. Raises
    ``LoginThrottled`` (before looking at the password) or ``InvalidCredentials``; both are audited
    and a failure is counted even though the caller's transaction may roll back."""
    now = utcnow()
    wait = max(
        _retry_after(session, account_key(username), policy.max_failures, policy.max_wait, now),
        _retry_after(session, address_key(address), policy.max_failures_per_address, policy.max_wait, now),
    )
    if wait > 0:
        _refuse(session, username, address, "登录尝试过于频繁，已暂时拒绝")
        raise LoginThrottled(f"登录失败次数过多，请 {wait} 秒后再试", retry_after=wait)
    try:
        user = authenticate(session, username, password)
    except InvalidCredentials:
        keys = (account_key(username), address_key(address))

        def count(s: Session) -> None:
            for key in keys:
                _count_failure(s, key, now)
            s.execute(delete(LoginThrottle).where(LoginThrottle.last_failure_at <= now - FORGET_AFTER))

        keep_whatever_happens(session, count)
        _refuse(session, username, address, "用户名或密码错误")
        raise
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == account_key(username)))
    return user
