"""What grants consume: calls and rows per day and per minute (quotas and rate limits), and the
differential-privacy budget. Counters live in ``access_usage`` rows that every server process shares
and that survive restarts; call increments are written as the request's transaction ends
(``db.keep_whatever_happens``), so the counter rows are locked for a moment, not for a whole read.

Rows under a daily row quota are *reserved*, not counted after the fact: ``reserve_rows`` adds them
with one ``UPDATE … WHERE rows + n <= quota - rows counted otherwise`` (like ``spend_privacy`` for ε),
so however many readers run at once the day's total never exceeds the quota (the bound is zero). A
read reserves once its rows are known and just before they leave; its transaction commits a moment
later, and a read that fails meanwhile rolls its reservation back. Reservations have a counter row of
their own per grant and day (window ``r:<date>``), locked from the reservation to the commit: every
other counter is written only at the commit, so no transaction holding one of those ever waits for a
reservation (no lock-order deadlock on PostgreSQL), and a grant's reservations are taken in grant
order."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pubdata import ratelimit
from pubdata.access.models import AccessGrant, AccessUsage
from pubdata.db import keep_whatever_happens
from pubdata.errors import Invalid, RateLimited

BEIJING = ZoneInfo("Asia/Shanghai")


class QuotaExceeded(RateLimited):
    code = "access.quota_exceeded"


class PrivacyBudgetExceeded(Invalid):
    code = "access.privacy_budget_exceeded"


@dataclass(frozen=True)
class RowQuota:
    """Where a grant's daily row quota stands (Beijing day), as a read leaves it."""

    daily: int  # the grant's daily row quota
    used: int  # rows charged today, the read's own included

    @property
    def left(self) -> int:
        return max(self.daily - self.used, 0)

    def as_json(self, *, truncated: bool) -> dict[str, Any]:
        """The marker a response carries: the numbers, and whether this response was cut to them."""
        return {
            "daily_row_quota": self.daily,
            "rows_used_today": self.used,
            "rows_left_today": self.left,
            "truncated_by_quota": truncated,
            "resets_at": _next_midnight(datetime.now(UTC)).isoformat(),
        }


def _next_midnight(now: datetime) -> datetime:
    return (now.astimezone(BEIJING) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def _until_midnight(now: datetime) -> int:
    return int((_next_midnight(now) - now.astimezone(BEIJING)).total_seconds()) + 1


def _day_window(now: datetime | None = None) -> str:
    return "d:" + (now or datetime.now(BEIJING)).astimezone(BEIJING).strftime("%Y-%m-%d")


def _reserved_window(now: datetime | None = None) -> str:
    return "r:" + (now or datetime.now(BEIJING)).astimezone(BEIJING).strftime("%Y-%m-%d")


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


def _take(grant_id: int, window: str, limit: int, session: Session) -> bool:
    return ratelimit.take(session, AccessUsage, {"grant_id": grant_id}, window, limit)


def charge_call(session: Session, grant: AccessGrant) -> None:
    """Count one more call against the grant's rate and daily call quota, or refuse it (429) past
    either; refuse it too when today's rows are used up. A limited counter is taken first and
    atomically, apart from the request (``ratelimit.take`` in ``ratelimit.counted_apart``), so
    concurrent calls never get past a limit; the per-minute count of a call then refused by the daily
    quota stands (it was an attempt). Unlimited counters are added as the request ends."""
    now = datetime.now(UTC)
    minute, day = _minute_window(now), _day_window(now)
    until_midnight = _until_midnight(now)
    if grant.daily_row_quota is not None and usage_today(session, grant.id, now)[1] >= grant.daily_row_quota:
        raise QuotaExceeded(f"今日数据行数已达上限 {grant.daily_row_quota} 行", retry_after=until_midnight)
    for window, limit in ((minute, grant.rate_per_minute), (day, grant.daily_call_quota)):
        if limit is None:
            _charge_later(session, grant.id, window, 1, 0)
        elif not ratelimit.counted_apart(session, functools.partial(_take, grant.id, window, limit)):
            if window == minute:
                wait = 60 - now.astimezone(BEIJING).second
                raise RateLimited(f"调用过于频繁：每分钟最多 {limit} 次", retry_after=wait)
            raise QuotaExceeded(f"今日调用次数已达上限 {limit} 次", retry_after=until_midnight)


def charge_rows(session: Session, grant_id: int, rows: int) -> None:
    """Count the rows a read returned against the grant's day (after the fact, without a bound:
    reads under a row quota reserve first with ``reserve_rows``). Rows this transaction already
    reserved for the grant are not counted twice."""
    reserved = session.info.get(_RESERVED, {})
    already = min(reserved.get(grant_id, 0), rows)
    if already:
        reserved[grant_id] -= already
        rows -= already
    if rows:
        _charge_later(session, grant_id, _day_window(), 0, rows)


_RESERVED = "pubdata_rows_reserved"  # session.info: grant id → rows reserved, not yet reported to charge_rows


def rows_left(session: Session, grant: AccessGrant) -> int | None:
    """The rows the grant may still read today; None when it has no daily row quota."""
    if grant.daily_row_quota is None:
        return None
    return max(grant.daily_row_quota - usage_today(session, grant.id)[1], 0)


def _used(session: Session, grant_id: int, window: str) -> int | None:
    """The rows charged in the window; None when the window has no counter row yet."""
    value = session.scalar(
        select(AccessUsage.rows).where(AccessUsage.grant_id == grant_id, AccessUsage.window == window)
    )
    return None if value is None else int(value)


def reserve_rows(session: Session, grant_id: int, rows: int, *, whole: bool = False) -> tuple[int, RowQuota | None]:
    """Take up to ``rows`` rows from the grant's daily row quota, atomically and now, in the caller's
    transaction: (rows taken, where the quota stands). Without a row quota nothing is taken here —
    (``rows``, None) — and the read is counted by ``charge_rows``. ``whole``: all or nothing
    (downloads): ``QuotaExceeded`` naming the rows asked, the rows left and the quota when fewer
    are left. Concurrent reservations never take more than the quota in total."""
    quota = session.scalar(select(AccessGrant.daily_row_quota).where(AccessGrant.id == grant_id))
    if quota is None:
        return rows, None
    now = datetime.now(BEIJING)
    window = _reserved_window(now)
    where = (AccessUsage.grant_id == grant_id, AccessUsage.window == window)
    while True:  # each retry means another reader took rows meanwhile, so this ends
        counted = _used(session, grant_id, _day_window(now)) or 0  # rows charged after the fact (no reservation)
        reserved_today = _used(session, grant_id, window)
        left = max(quota - counted - (reserved_today or 0), 0)
        take = min(rows, left)
        if whole and take < rows:
            raise rows_exceeded(rows, left, quota)
        if take <= 0:
            return 0, RowQuota(quota, counted + (reserved_today or 0))
        if reserved_today is None:
            try:
                with session.begin_nested():
                    session.add(AccessUsage(grant_id=grant_id, window=window, calls=0, rows=take))
                break
            except IntegrityError:  # another reader opened the day first
                continue
        stmt = (
            update(AccessUsage)
            .where(*where, AccessUsage.rows + take <= quota - counted)
            .values(rows=AccessUsage.rows + take)
        )
        if session.execute(stmt).rowcount == 1:  # type: ignore[attr-defined]
            break
    mine = session.info.setdefault(_RESERVED, {})
    mine[grant_id] = mine.get(grant_id, 0) + take
    return take, RowQuota(quota, counted + (_used(session, grant_id, window) or 0))


def release_rows(session: Session, grant_id: int, rows: int) -> None:
    """Give back rows this transaction reserved but will not return (a join cut by another grant)."""
    if rows <= 0:
        return
    session.execute(
        update(AccessUsage)
        .where(AccessUsage.grant_id == grant_id, AccessUsage.window == _reserved_window())
        .values(rows=AccessUsage.rows - rows)
    )
    reserved = session.info.setdefault(_RESERVED, {})
    reserved[grant_id] = max(reserved.get(grant_id, 0) - rows, 0)


def rows_exceeded(asked: int, left: int, quota: int) -> QuotaExceeded:
    """The refusal of a read that needs more rows than are left today, with the numbers."""
    exc = QuotaExceeded(
        f"今日数据行数不足：本次需要 {asked} 行，今日剩余 {left} 行（每日上限 {quota} 行）；"
        "可按页读取（/rows 接口）或明日再试",
        retry_after=_until_midnight(datetime.now(UTC)),
    )
    exc.details.update(rows_asked=asked, rows_left_today=left, daily_row_quota=quota)
    return exc


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


def usage_today(session: Session, grant_id: int, now: datetime | None = None) -> tuple[int, int]:
    """(calls, rows) charged to the grant today: rows reserved under its row quota and rows counted
    after the fact."""
    calls, rows = _counts(session, grant_id, _day_window(now))
    return calls, rows + (_used(session, grant_id, _reserved_window(now)) or 0)
