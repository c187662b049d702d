"""What grants consume: calls and rows per day and per minute (quotas and rate limits), and the
differential-privacy budget. Counters live in ``access_usage`` rows that every server process shares
and that survive restarts; increments are written as the request's transaction ends
(``db.keep_whatever_happens``), so the counter rows are locked for a moment, not for a whole read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pubdata.access.models import AccessGrant, AccessUsage
from pubdata.db import keep_whatever_happens
from pubdata.errors import Invalid, RateLimited

BEIJING = ZoneInfo("Asia/Shanghai")


class QuotaExceeded(RateLimited):
    code = "access.quota_exceeded"


class PrivacyBudgetExceeded(Invalid):
    code = "access.privacy_budget_exceeded"


def _day_window(now: datetime | None = None) -> str:
    return "d:" + (now or datetime.now(BEIJING)).astimezone(BEIJING).strftime("%Y-%m-%d")


def _minute_window(now: datetime) -> str:
    return "m:" + now.astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M")


def _bump(session: Session, grant_id: int, window: str, calls: int, rows: int) -> None:
    values = {"calls": AccessUsage.calls + calls, "rows": AccessUsage.rows + rows}
    where = (AccessUsage.grant_id == grant_id, AccessUsage.window == window)
    if session.execute(update(AccessUsage).where(*where).values(**values)).rowcount == 0:  # type: ignore[attr-defined]
        try:
            with session.begin_nested():
                session.add(AccessUsage(grant_id=grant_id, window=window, calls=calls, rows=rows))
        except IntegrityError:  # another process opened the window first
            session.execute(update(AccessUsage).where(*where).values(**values))


def _counts(session: Session, grant_id: int, window: str) -> tuple[int, int]:
    row = session.execute(
        select(AccessUsage.calls, AccessUsage.rows).where(
            AccessUsage.grant_id == grant_id, AccessUsage.window == window
        )
    ).first()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def _charge_later(session: Session, grant_id: int, window: str, calls: int, rows: int) -> None:
    """Add to the counters just before the request's transaction ends (committed even if it fails),
    so the counter rows are locked for a moment, not for the whole read."""
    keep_whatever_happens(session, lambda s: _bump(s, grant_id, window, calls, rows))


def charge_call(session: Session, grant: AccessGrant) -> None:
    """Check one more call against the grant's rate and daily quotas (429 past either) and count it.
    Concurrent calls may overshoot a limit by the calls in flight; they are all counted."""
    now = datetime.now(UTC)
    minute, day = _minute_window(now), _day_window(now)
    minute_calls, _ = _counts(session, grant.id, minute)
    day_calls, day_rows = _counts(session, grant.id, day)
    if grant.rate_per_minute is not None and minute_calls + 1 > grant.rate_per_minute:
        wait = 60 - now.astimezone(BEIJING).second
        raise RateLimited(f"调用过于频繁：每分钟最多 {grant.rate_per_minute} 次", retry_after=wait)
    midnight = (now.astimezone(BEIJING) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    until_midnight = int((midnight - now.astimezone(BEIJING)).total_seconds()) + 1
    if grant.daily_call_quota is not None and day_calls + 1 > grant.daily_call_quota:
        raise QuotaExceeded(f"今日调用次数已达上限 {grant.daily_call_quota} 次", retry_after=until_midnight)
    if grant.daily_row_quota is not None and day_rows >= grant.daily_row_quota:
        raise QuotaExceeded(f"今日数据行数已达上限 {grant.daily_row_quota} 行", retry_after=until_midnight)
    _charge_later(session, grant.id, minute, 1, 0)
    _charge_later(session, grant.id, day, 1, 0)


def charge_rows(session: Session, grant_id: int, rows: int) -> None:
    """Count the rows a read returned against the grant's day."""
    if rows:
        _charge_later(session, grant_id, _day_window(), 0, rows)


def spend_privacy(session: Session, grant_id: int, epsilon: float) -> float:
    """Charge ``epsilon`` to the grant's privacy budget, atomically; the budget left. Refused (and
    nothing charged) when the budget would be exceeded."""
    stmt = (
        update(AccessGrant)
        .where(
            AccessGrant.id == grant_id,
            AccessGrant.privacy_budget.is_not(None),
            AccessGrant.privacy_spent + epsilon <= AccessGrant.privacy_budget + 1e-9,
        )
        .values(privacy_spent=AccessGrant.privacy_spent + epsilon)
    )
    if session.execute(stmt).rowcount == 0:  # type: ignore[attr-defined]
        grant = session.get(AccessGrant, grant_id)
        left = (grant.privacy_budget or 0) - grant.privacy_spent if grant else 0
        raise PrivacyBudgetExceeded(
            f"隐私预算不足：本次需要 ε={epsilon:g}，剩余 ε={max(left, 0):g}", field="dp.epsilon"
        )
    grant = session.get(AccessGrant, grant_id, populate_existing=True)
    assert grant is not None and grant.privacy_budget is not None
    return grant.privacy_budget - grant.privacy_spent


def usage_today(session: Session, grant_id: int) -> tuple[int, int]:
    """(calls, rows) charged to the grant today."""
    return _counts(session, grant_id, _day_window())
