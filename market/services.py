"""Writes to the calendar: the horizon ("confirmed until") and loading an exchange's published holiday list."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction

from . import horizon
from .models import CalendarHorizon, Exchange, Holiday


@dataclass
class HolidayImport:
    added: list[tuple[str, dt.date]] = field(default_factory=list)
    kept: int = 0  # rows already in the table: left exactly as ops have them
    horizons: dict[str, dt.date] = field(default_factory=dict)  # exchange -> confirmed until, after the load


def horizon_extend(*, exchange: str, until: dt.date, source: str) -> CalendarHorizon:
    """Confirm `exchange` up to `until`. A horizon only moves later here: seeding or re-loading an older list
    never takes back what a newer one confirmed (ops can still edit it in the admin)."""
    row, created = CalendarHorizon.objects.select_for_update().get_or_create(
        exchange=exchange, defaults={"confirmed_until": until, "source": source}
    )
    if not created and until > row.confirmed_until:
        row.confirmed_until, row.source = until, source
        row.save(update_fields=["confirmed_until", "source", "updated_at"])
    return row


def holidays_import(*, text: str, source: str) -> HolidayImport:
    """Load a holiday list (CSV: date, exchange, description; see `market.horizon`). Idempotent: a date the
    table already has for that exchange is kept as it is (an ops edit to its description survives), new ones
    are added, and each exchange the list names is confirmed to the end of the list's last year.
    Raises horizon.HolidayFileError (naming the line and field) before writing anything."""
    rows = horizon.parse_holiday_file(text, tuple(Exchange.values))
    report = HolidayImport()
    with transaction.atomic():
        known = set(
            Holiday.objects.filter(
                exchange__in={row.exchange for row in rows},
                date__range=(min(row.date for row in rows), max(row.date for row in rows)),
            ).values_list("exchange", "date")
        )
        new = [row for row in rows if (row.exchange, row.date) not in known]
        Holiday.objects.bulk_create(
            [Holiday(exchange=row.exchange, date=row.date, description=row.description) for row in new]
        )
        report.added = [(row.exchange, row.date) for row in new]
        report.kept = len(rows) - len(new)
        for exchange, until in sorted(horizon.covered_until(rows).items()):
            report.horizons[exchange] = horizon_extend(exchange=exchange, until=until, source=source).confirmed_until
    return report
