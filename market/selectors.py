"""Read the calendar tables into the plain values `market.calendar` works on."""

import datetime as dt

from . import horizon
from .calendar import Session
from .models import CalendarHorizon, Exchange, Holiday, TradingSession


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
