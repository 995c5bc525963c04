"""Load the instrument master from an instrument source: `paper` (the default, market/data/underlyings.json) or
one a broker app registered (see `market.instruments`)."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from market import calendar
from market.instruments import InstrumentSourceError, instrument_sources, instruments_load


class Command(BaseCommand):
    help = (
        "Create or update the instrument master from an instrument source; the default, paper, lists the indices "
        "and index options of market/data/underlyings.json."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--broker",
            default="paper",
            type=str.lower,
            help=f"Instrument source: {', '.join(instrument_sources())} (default: paper)",
        )
        parser.add_argument("--date", help="As-of date, YYYY-MM-DD (default: today in Asia/Kolkata)")
        parser.add_argument(
            "--file",
            help="A broker's instrument dump saved to disk (Kite's instruments CSV, Angel One's ScripMaster JSON) "
            "instead of fetching it",
        )
        parser.add_argument(
            "--underlyings", nargs="+", help="Only these underlyings, e.g. NIFTY BANKNIFTY (default: all in the file)"
        )

    def handle(self, *args, broker="paper", date=None, underlyings=None, file=None, **options):
        as_of = self._as_of(date)
        try:
            summary = instruments_load(
                source=broker,
                as_of=as_of,
                underlyings=underlyings,
                path=file,
                out=self.stdout.write,
                warn=lambda message: self.stderr.write(self.style.WARNING(message)),
            )
        except InstrumentSourceError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(summary)

    def _as_of(self, value) -> dt.date:
        if value is None:
            return timezone.now().astimezone(calendar.EXCHANGE_TZ).date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError as exc:
            raise CommandError(f"--date must be YYYY-MM-DD, not {value!r}.") from exc
