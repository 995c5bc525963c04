"""Seed NSE/BSE holidays and dated session times from the exchange_calendars "XBOM" calendar.

The tables are the truth and ops edit them in the admin, so this command only adds rows that are missing:
an edited description or session time is never overwritten, and a second run adds nothing.

The bundled data ends on a known day (2026-12-31 for exchange_calendars 4.13): each exchange's horizon
("confirmed until") is set to it. `--file PATH` loads the exchange's own published holiday list for later
years (see `market.horizon` for the CSV) and moves the horizon to the end of the list's last year.
"""

import datetime as dt
import os
import warnings

import exchange_calendars as xc
import pandas as pd
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from market.calendar import EXCHANGE_TZ, REGULAR_HOURS
from market.horizon import HolidayFileError
from market.models import Exchange, Holiday, TradingSession
from market.selectors import horizon_statuses, readiness_message
from market.services import holidays_import, horizon_extend

# XBOM (Bombay Stock Exchange) carries the holiday list NSE and BSE share for the equity and F&O segments.
CALENDAR_NAME = "XBOM"
HOLIDAY_DESCRIPTION = f"Trading holiday ({CALENDAR_NAME} calendar)"


def get_calendar(**kwargs):
    # exchange_calendars still calls an accessor pandas 3 deprecates; the warning is theirs, not ours.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Series\.values returning an ndarray")
        return xc.get_calendar(CALENDAR_NAME, **kwargs)


class Command(BaseCommand):
    help = "Add missing NSE/BSE holidays and trading sessions from the exchange_calendars XBOM calendar."

    def add_arguments(self, parser):
        this_year = timezone.now().astimezone(EXCHANGE_TZ).year
        parser.add_argument("--from-year", type=int, default=this_year, help="First year (default: this year)")
        parser.add_argument("--to-year", type=int, default=this_year + 1, help="Last year (default: next year)")
        parser.add_argument(
            "--file",
            help="Load an exchange's published holiday list instead: a CSV of date, exchange, description "
            "(e.g. 2027-01-26,NSE,Republic Day). Existing rows are kept as they are; each exchange named is "
            "confirmed to the end of the list's last year.",
        )

    def handle(self, *args, from_year, to_year, file=None, **options):
        if file:
            self._load_file(file)
        else:
            self._seed_bundled(from_year, to_year)
        today = timezone.now().astimezone(EXCHANGE_TZ).date()
        for status in horizon_statuses(today):
            until = f"{status.confirmed_until:%d %b %Y}" if status.confirmed_until else "nothing"
            self.stdout.write(f"{status.exchange}: holidays confirmed until {until}")
        message = readiness_message(today)
        if message:
            self.stderr.write(self.style.WARNING(message))

    def _load_file(self, path: str) -> None:
        try:
            with open(path, encoding="utf-8-sig") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"--file {path}: {exc}") from None
        try:
            report = holidays_import(text=text, source=f"holiday list {os.path.basename(path)}")
        except HolidayFileError as exc:
            raise CommandError(f"--file {path}: {exc}; nothing was loaded.") from None
        self.stdout.write(f"{path}: added {len(report.added)} holidays, kept {report.kept} already recorded")
        for exchange, day in report.added:
            self.stdout.write(f"  {exchange} holiday {day:%Y-%m-%d %a}")

    def _seed_bundled(self, from_year: int, to_year: int) -> None:
        if from_year > to_year:
            raise CommandError(f"--from-year {from_year} is after --to-year {to_year}.")
        window = self._covered_window(dt.date(from_year, 1, 1), dt.date(to_year, 12, 31))
        if window is None:
            self.stderr.write(
                self.style.WARNING(f"The {CALENDAR_NAME} calendar does not cover {from_year}-{to_year}; nothing added.")
            )
            return
        start, end = window
        holidays, sessions = self._read_calendar(start, end)
        self.stdout.write(
            f"{CALENDAR_NAME} calendar {start} to {end}: {len(holidays)} holidays, {len(sessions)} sessions"
        )
        with transaction.atomic():
            for exchange in Exchange.values:
                self._seed_exchange(exchange, start, end, holidays, sessions)
                horizon_extend(exchange=exchange, until=end, source=f"exchange_calendars {CALENDAR_NAME}")

    def _covered_window(self, start: dt.date, end: dt.date) -> tuple[dt.date, dt.date] | None:
        """The part of [start, end] the calendar knows; None when it knows none of it."""
        calendar_class = type(get_calendar())
        lowest, highest = calendar_class.bound_min(), calendar_class.bound_max()
        if lowest is not None:
            start = max(start, lowest.date())
        if highest is not None:
            end = min(end, highest.date())
        return (start, end) if start <= end else None

    def _read_calendar(self, start: dt.date, end: dt.date) -> tuple[list[dt.date], dict[dt.date, tuple]]:
        calendar = get_calendar(start=start.isoformat(), end=end.isoformat())
        schedule = calendar.schedule.loc[pd.Timestamp(start) : pd.Timestamp(end)]
        sessions = {
            label.date(): (row.open.astimezone(EXCHANGE_TZ).time(), row.close.astimezone(EXCHANGE_TZ).time())
            for label, row in schedule.iterrows()
        }
        listed = set(pd.DatetimeIndex(calendar.adhoc_holidays))
        if calendar.regular_holidays is not None:
            listed |= set(calendar.regular_holidays.holidays(start, end))
        # A weekend needs no Holiday row (it is closed anyway), and a listed date that the calendar still
        # schedules a session on is a special session, not a closure.
        holidays = sorted(
            day
            for day in (stamp.date() for stamp in listed)
            if start <= day <= end and day.weekday() < 5 and day not in sessions
        )
        return holidays, sessions

    def _seed_exchange(self, exchange: str, start, end, holidays: list[dt.date], sessions: dict) -> None:
        known_holidays = set(
            Holiday.objects.filter(exchange=exchange, date__range=(start, end)).values_list("date", flat=True)
        )
        new_holidays = [day for day in holidays if day not in known_holidays]
        Holiday.objects.bulk_create(
            [Holiday(exchange=exchange, date=day, description=HOLIDAY_DESCRIPTION) for day in new_holidays],
            ignore_conflicts=True,
        )

        # Never add a session on a day ops closed: a Holiday row entered in the admin wins.
        closed = known_holidays | set(new_holidays)
        known_sessions = set(
            TradingSession.objects.filter(exchange=exchange, date__range=(start, end)).values_list("date", flat=True)
        )
        regular = REGULAR_HOURS[exchange]
        new_sessions = []
        for day, (open_time, close_time) in sorted(sessions.items()):
            if day in known_sessions or day in closed:
                continue
            special = (open_time, close_time) != regular or day.weekday() >= 5
            note = f"Special session ({CALENDAR_NAME} calendar)" if special else ""
            new_sessions.append(
                TradingSession(exchange=exchange, date=day, open_time=open_time, close_time=close_time, note=note)
            )
        TradingSession.objects.bulk_create(new_sessions, ignore_conflicts=True)

        self.stdout.write(f"{exchange}: added {len(new_holidays)} holidays, {len(new_sessions)} sessions")
        for day in new_holidays:
            self.stdout.write(f"  holiday {day:%Y-%m-%d %a}")
        for row in new_sessions:
            if row.note:
                self.stdout.write(
                    f"  special session {row.date:%Y-%m-%d %a} {row.open_time:%H:%M}-{row.close_time:%H:%M}"
                )
