"""The trading calendar as plain functions on values: no ORM, no clock.

Callers load holidays and dated sessions from the tables (see `execution.selectors`) and pass them in:

- `holidays` is a collection of `date`s on which the exchange is closed,
- `sessions` maps a `date` to its `(open, close)` local times when that day differs from the regular hours
  (or is simply recorded, as `seed_calendar` does for every trading day).

A holiday closes the day even when a session row exists for it: a closure ops enter in the admin must win over a
seeded session. A dated session on a weekend (a special Saturday session) opens that day for `session_for` and
`is_trading_day(..., sessions=...)`. Expiry arithmetic looks at holidays and weekends only.
All times are exchange local time (Asia/Kolkata); `due_instant` turns one into a UTC instant.
"""

import calendar as _stdlib_calendar
import datetime as dt
from collections.abc import Collection, Iterator, Mapping
from zoneinfo import ZoneInfo

EXCHANGE_TZ = ZoneInfo("Asia/Kolkata")
UTC = dt.UTC

# Regular hours of the cash and F&O segments; dated TradingSession rows override them.
REGULAR_OPEN = dt.time(9, 15)
REGULAR_CLOSE = dt.time(15, 30)
REGULAR_HOURS: dict[str, tuple[dt.time, dt.time]] = {
    "NSE": (REGULAR_OPEN, REGULAR_CLOSE),
    "BSE": (REGULAR_OPEN, REGULAR_CLOSE),
}

WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")

Session = tuple[dt.time, dt.time]

# Far enough to cross the longest run of Indian market holidays many times over; guards against a
# `holidays` collection that (wrongly) closes every day.
_MAX_SCAN_DAYS = 366


class CalendarError(ValueError):
    """A calendar question that has no answer (an unknown weekday, a year of holidays in a row)."""


def weekday_number(weekday: int | str) -> int:
    """0 for Monday … 6 for Sunday, from an int or a name such as "TUESDAY" / "tue"."""
    if isinstance(weekday, int):
        if 0 <= weekday <= 6:
            return weekday
        raise CalendarError(f"Weekday must be 0 (Monday) to 6 (Sunday), not {weekday}.")
    name = str(weekday).strip().upper()
    for number, full in enumerate(WEEKDAYS):
        if name and (name == full or (len(name) >= 3 and full.startswith(name))):
            return number
    raise CalendarError(f"Unknown weekday {weekday!r}.")


def is_weekend(day: dt.date) -> bool:
    return day.weekday() >= 5


def is_trading_day(
    day: dt.date, holidays: Collection[dt.date], sessions: Mapping[dt.date, Session] | None = None
) -> bool:
    """Weekdays that are not holidays trade; with `sessions`, so does a weekend day with a dated session."""
    if day in holidays:
        return False
    if sessions is not None and day in sessions:
        return True
    return not is_weekend(day)


def session_for(
    day: dt.date,
    holidays: Collection[dt.date],
    sessions: Mapping[dt.date, Session],
    regular: Session = (REGULAR_OPEN, REGULAR_CLOSE),
) -> Session | None:
    """The day's (open, close) local times: None on a holiday, else its dated session, else the regular hours
    on a weekday; None on a weekend without a dated session."""
    if day in holidays:
        return None
    if day in sessions:
        return sessions[day]
    if is_weekend(day):
        return None
    return regular


def trading_day_on_or_before(day: dt.date, holidays: Collection[dt.date]) -> dt.date:
    """`day` itself when it trades, else the last trading day before it (how expiries move off holidays)."""
    for back in range(_MAX_SCAN_DAYS):
        candidate = day - dt.timedelta(days=back)
        if is_trading_day(candidate, holidays):
            return candidate
    raise CalendarError(f"No trading day in the year up to {day}.")


def previous_trading_day(day: dt.date, holidays: Collection[dt.date]) -> dt.date:
    """The last trading day strictly before `day`."""
    return trading_day_on_or_before(day - dt.timedelta(days=1), holidays)


def next_trading_days(start: dt.date, n: int, holidays: Collection[dt.date]) -> list[dt.date]:
    """The first `n` trading days on or after `start` (`start` included when it trades)."""
    days: list[dt.date] = []
    day, idle = start, 0
    while len(days) < n:
        if is_trading_day(day, holidays):
            days.append(day)
            idle = 0
        else:
            idle += 1
            if idle > _MAX_SCAN_DAYS:
                raise CalendarError(f"No trading day in the year after {day - dt.timedelta(days=idle)}.")
        day += dt.timedelta(days=1)
    return days


def _first_on_or_after(day: dt.date, weekday: int) -> dt.date:
    return day + dt.timedelta(days=(weekday - day.weekday()) % 7)


def last_weekday_of_month(year: int, month: int, weekday: int | str) -> dt.date:
    """The last Tuesday (or other weekday) of the month, before any holiday adjustment."""
    weekday = weekday_number(weekday)
    last = dt.date(year, month, _stdlib_calendar.monthrange(year, month)[1])
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _adjusted(nominal: Iterator[dt.date], start: dt.date, count: int, holidays: Collection[dt.date]) -> list[dt.date]:
    # A nominal expiry on or after `start` can move before it (Tuesday holiday -> Monday, and `start` is
    # that Tuesday); such a contract has already expired, so it is skipped rather than listed.
    expiries: list[dt.date] = []
    for day in nominal:
        if len(expiries) >= count:
            break
        expiry = trading_day_on_or_before(day, holidays)
        if expiry >= start and (not expiries or expiry > expiries[-1]):
            expiries.append(expiry)
    return expiries


def weekly_expiry_dates(start: dt.date, weekday: int | str, count: int, holidays: Collection[dt.date]) -> list[dt.date]:
    """The next `count` weekly expiries on or after `start`; one on a holiday moves to the previous trading day."""
    weekday = weekday_number(weekday)

    def nominal() -> Iterator[dt.date]:
        day = _first_on_or_after(start, weekday)
        while True:
            yield day
            day += dt.timedelta(days=7)

    return _adjusted(nominal(), start, count, holidays)


def monthly_expiry_dates(
    start: dt.date, weekday: int | str, count: int, holidays: Collection[dt.date]
) -> list[dt.date]:
    """The next `count` monthly expiries (last such weekday of the month) on or after `start`, holiday-adjusted."""
    weekday = weekday_number(weekday)

    def nominal() -> Iterator[dt.date]:
        year, month = start.year, start.month
        while True:
            yield last_weekday_of_month(year, month, weekday)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    return _adjusted(nominal(), start, count, holidays)


def due_instant(day: dt.date, time: dt.time) -> dt.datetime:
    """The UTC instant of `time` on `day` in exchange local time (Asia/Kolkata has no DST)."""
    return dt.datetime.combine(day, time, tzinfo=EXCHANGE_TZ).astimezone(UTC)
