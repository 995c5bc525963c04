"""How far ahead the holiday calendar is known, as plain functions on values: no ORM, no clock.

Each exchange has a "confirmed until" date: the last day whose holidays are known (the end of the bundled
exchange_calendars data, or of the last holiday list ops loaded). Past it, the platform cannot know the
holidays, so it trades those days as ordinary weekdays and marks each one "unconfirmed" in the schedule.
From `READINESS_DAYS` before the horizon a readiness alert tells ops, every day, the exact command to run.

The holiday list an exchange publishes is loaded from a CSV with the columns `date, exchange, description`
(a header row is optional; dates as 2027-01-26 or 26-Jan-2027).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

# The alert starts this many days before the horizon (and goes on every day until the list is loaded).
READINESS_DAYS = 30

LOAD_COMMAND = "python manage.py seed_calendar --file {path}"

_DATE_FORMATS = ("%Y-%m-%d", "%d-%b-%Y", "%d %b %Y", "%d-%B-%Y", "%d %B %Y")
_MAX_DESCRIPTION = 120


class HolidayFileError(ValueError):
    """A holiday list that cannot be loaded; the message names the line and the field."""


@dataclass(frozen=True)
class HolidayRow:
    line: int
    date: dt.date
    exchange: str
    description: str


@dataclass(frozen=True)
class HorizonStatus:
    exchange: str
    confirmed_until: dt.date | None
    days_left: int | None  # negative once the horizon has passed; None when nothing is confirmed
    state: str  # OK | DUE (within READINESS_DAYS) | PASSED (today is past it) | UNKNOWN (no horizon)

    @property
    def needs_attention(self) -> bool:
        return self.state != "OK"


def parse_date(text: str) -> dt.date:
    text = text.strip()
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (use 2027-01-26 or 26-Jan-2027)")


def parse_holiday_file(text: str, exchanges: tuple[str, ...]) -> list[HolidayRow]:
    """The rows of a holiday list. Raises HolidayFileError naming the first bad line and field; an empty
    file is an error too (loading nothing must not look like success)."""
    rows: list[HolidayRow] = []
    seen: dict[tuple[str, dt.date], int] = {}
    for number, raw in enumerate(csv.reader(io.StringIO(text)), start=1):
        fields = [field.strip() for field in raw]
        if not any(fields) or fields[0].startswith("#"):
            continue
        if number == 1 and fields[0].lower() == "date":
            continue  # header
        if len(fields) < 2:
            raise HolidayFileError(f"line {number}: expected date, exchange, description; got {','.join(fields)!r}")
        try:
            day = parse_date(fields[0])
        except ValueError as exc:
            raise HolidayFileError(f"line {number}: date: {exc}") from None
        exchange = fields[1].upper()
        if exchange not in exchanges:
            raise HolidayFileError(f"line {number}: exchange: {fields[1]!r} is not one of {', '.join(exchanges)}")
        description = ",".join(raw[2:]).strip()  # an unquoted comma stays in the text
        if len(description) > _MAX_DESCRIPTION:
            raise HolidayFileError(
                f"line {number}: description: {len(description)} characters, at most {_MAX_DESCRIPTION}"
            )
        if (exchange, day) in seen:
            raise HolidayFileError(
                f"line {number}: date: {exchange} {day} is listed twice (also on line {seen[(exchange, day)]})"
            )
        seen[(exchange, day)] = number
        rows.append(HolidayRow(number, day, exchange, description))
    if not rows:
        raise HolidayFileError("the file lists no holidays (columns: date, exchange, description)")
    return rows


def covered_until(rows: list[HolidayRow]) -> dict[str, dt.date]:
    """An exchange publishes its holidays a calendar year at a time: a list that names any day of a year
    confirms that whole year, for each exchange it names."""
    last: dict[str, dt.date] = {}
    for row in rows:
        year_end = dt.date(row.date.year, 12, 31)
        if row.exchange not in last or year_end > last[row.exchange]:
            last[row.exchange] = year_end
    return last


def horizon_status(exchange: str, confirmed_until: dt.date | None, today: dt.date) -> HorizonStatus:
    if confirmed_until is None:
        return HorizonStatus(exchange, None, None, "UNKNOWN")
    days_left = (confirmed_until - today).days
    if days_left < 0:
        state = "PASSED"
    elif days_left <= READINESS_DAYS:
        state = "DUE"
    else:
        state = "OK"
    return HorizonStatus(exchange, confirmed_until, days_left, state)


def is_confirmed(day: dt.date, confirmed_until: dt.date | None) -> bool:
    """Whether `day`'s holidays are known (on or before the horizon)."""
    return confirmed_until is not None and day <= confirmed_until


def readiness_message(statuses: list[HorizonStatus], *, example_path: str) -> str:
    """What ops must do, naming the exact command: one message for every exchange that needs attention."""
    parts = []
    for status in statuses:
        if status.state == "UNKNOWN":
            parts.append(f"{status.exchange} has no confirmed holiday calendar")
        elif status.state == "PASSED":
            parts.append(
                f"{status.exchange} holidays were confirmed only until {status.confirmed_until:%d %b %Y} "
                f"({-status.days_left} days ago): days after it trade as ordinary weekdays"
            )
        elif status.state == "DUE":
            parts.append(
                f"{status.exchange} holidays are confirmed until {status.confirmed_until:%d %b %Y} "
                f"({status.days_left} days left)"
            )
    if not parts:
        return ""
    return (
        "; ".join(parts)
        + ". Load the exchange's published holiday list (CSV: date, exchange, description): "
        + LOAD_COMMAND.format(path=example_path)
        + " (or Admin → Calendar horizons → Import holiday list)."
    )
