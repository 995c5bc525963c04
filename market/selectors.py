"""Reads of the market tables: the calendar as the plain values `market.calendar` works on, and the instrument
master's figures per underlying."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from . import horizon
from .calendar import EXCHANGE_TZ, Session
from .models import CalendarHorizon, Exchange, Holiday, Instrument, Quote, TradingSession


def holidays_between(exchange: str, start: dt.date, end: dt.date) -> set[dt.date]:
    """The exchange's holiday dates from `start` to `end`, both included, as `market.calendar` takes them."""
    return set(Holiday.objects.filter(exchange=exchange, date__range=(start, end)).values_list("date", flat=True))


def sessions_between(exchange: str, start: dt.date, end: dt.date) -> dict[dt.date, Session]:
    """The exchange's dated sessions from `start` to `end`, both included: date -> (open, close) local times."""
    rows = TradingSession.objects.filter(exchange=exchange, date__range=(start, end))
    return {
        day: (open_time, close_time)
        for day, open_time, close_time in rows.values_list("date", "open_time", "close_time")
    }


def last_holiday_date(exchange: str) -> dt.date | None:
    """The latest recorded holiday of the exchange; past it, the calendar knows weekends only."""
    return Holiday.objects.filter(exchange=exchange).order_by("-date").values_list("date", flat=True).first()


@dataclass(frozen=True)
class UnderlyingSpec:
    """What the lot arithmetic needs from the instrument master, for one underlying."""

    underlying: str
    lot_size: int | None  # of its nearest listed option contract; None when the master has none
    freeze_quantity: int | None
    spot: Decimal | None  # the index's last price; None when no quote has been seen


def underlying_specs(underlyings, *, on: dt.date | None = None) -> dict[str, UnderlyingSpec]:
    """Lot size, freeze quantity and spot per underlying, in one query whatever the count."""
    on = on or timezone.now().astimezone(EXCHANGE_TZ).date()
    nearest = Instrument.objects.filter(
        underlying=OuterRef("underlying"), kind=Instrument.Kind.OPTION, active=True, expiry__gte=on
    ).order_by("expiry", "id")
    rows = (
        Instrument.objects.filter(kind=Instrument.Kind.INDEX, underlying__in=set(underlyings))
        .annotate(
            option_lot_size=Subquery(nearest.values("lot_size")[:1]),
            option_freeze=Subquery(nearest.values("freeze_quantity")[:1]),
            spot=Subquery(Quote.objects.filter(instrument=OuterRef("pk")).values("ltp")[:1]),
        )
        .values("underlying", "option_lot_size", "option_freeze", "spot")
    )
    specs = {u: UnderlyingSpec(u, None, None, None) for u in underlyings}
    for row in rows:
        specs[row["underlying"]] = UnderlyingSpec(
            row["underlying"], row["option_lot_size"], row["option_freeze"], row["spot"]
        )
    return specs


def confirmed_until(exchange: str) -> dt.date | None:
    """The last day whose holidays are known for the exchange (None when nothing confirms any)."""
    return CalendarHorizon.objects.filter(exchange=exchange).values_list("confirmed_until", flat=True).first()


def horizon_statuses(today: dt.date) -> list[horizon.HorizonStatus]:
    """Every exchange's horizon as of `today`, in exchange order (UNKNOWN for one with no horizon row)."""
    return [horizon.horizon_status(exchange, until, today) for exchange, until in horizons().items()]


def readiness_message(today: dt.date) -> str:
    """What ops must do about the calendar as of `today` ("" when every horizon is more than 30 days out)."""
    return horizon.readiness_message(horizon_statuses(today), example_path=f"holidays-{today.year + 1}.csv")


def horizons() -> dict[str, dt.date | None]:
    """Each exchange's "confirmed until" date (None for one with no horizon row)."""
    known = dict(CalendarHorizon.objects.values_list("exchange", "confirmed_until"))
    return {exchange: known.get(exchange) for exchange in Exchange.values}


def confirmed_on(day: dt.date, known: dict[str, dt.date | None] | None = None) -> dict[str, bool]:
    """Per exchange: whether `day`'s holidays are known (False past the horizon: an ordinary weekday)."""
    known = horizons() if known is None else known
    return {exchange: horizon.is_confirmed(day, until) for exchange, until in known.items()}
