"""Rebuild the daily marks from the fills (all of them, or a date range / one strategy). Idempotent."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from strategies.models import Strategy

from ...selectors import local_day
from ...services import marks_rebuild


def _date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"{name}: use a date as YYYY-MM-DD, not {value!r}") from error


class Command(BaseCommand):
    help = "Rebuild the daily marks (P&L, fees, capital used per strategy and account per day) from the fills."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", help="first day to rewrite (default: each book's first fill)")
        parser.add_argument("--to", dest="end", help="last day (default: today, IST)")
        parser.add_argument("--strategy", help="only this strategy id")

    def handle(self, *args, start=None, end=None, strategy=None, **options):
        end_day = _date(end, "--to") if end else local_day(timezone.now())
        start_day = _date(start, "--from") if start else None
        if start_day and start_day > end_day:
            raise CommandError("--from must be on or before --to")
        strategies = None
        if strategy:
            strategies = list(Strategy.objects.filter(pk=strategy)) if _is_uuid(strategy) else []
            if not strategies:
                raise CommandError(f"--strategy: no strategy {strategy}")
        written = marks_rebuild(start=start_day, end=end_day, strategies=strategies)
        self.stdout.write(f"wrote {written} daily marks up to {end_day}")


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
