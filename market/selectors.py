"""Read the calendar tables into the plain values `market.calendar` works on."""

import datetime as dt

from .calendar import Session
from .models import Holiday, TradingSession


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
