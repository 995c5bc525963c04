import datetime as dt

from .calendar import Session
from .models import Holiday, OrderEvent, TradingSession


def holidays_between(exchange: str, start: dt.date, end: dt.date) -> set[dt.date]:
    """The exchange's holiday dates from `start` to `end`, both included, as `execution.calendar` takes them."""
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


def executions_for(*, owner):
    from .models import Execution

    return Execution.objects.filter(strategy__owner=owner).select_related("strategy")


def orders_for(*, owner):
    from .models import Order

    return Order.objects.filter(strategy__owner=owner).select_related("broker_account", "instrument", "execution")


def positions_for(*, owner):
    """The owner's book lines with their instrument and its quote (for unrealized P&L) in one query."""
    from .models import Position

    return Position.objects.filter(strategy__owner=owner).select_related(
        "strategy", "broker_account", "instrument", "instrument__quote"
    )


def strategy_pnl(*, strategy_ids) -> dict:
    """Per strategy: realized P&L, unrealized P&L at the last price (None when a held contract has no price)
    and their total, from the strategy's own book, in one query."""
    from .models import Position

    result = {pk: {"realized": 0, "unrealized": 0, "total": 0} for pk in strategy_ids}
    rows = Position.objects.filter(strategy_id__in=list(strategy_ids)).values_list(
        "strategy_id", "net_quantity", "average_price", "realized_pnl", "instrument__quote__ltp"
    )
    for strategy_id, net, average, realized, ltp in rows:
        entry = result[strategy_id]
        entry["realized"] += realized
        if net and ltp is None:
            entry["unrealized"] = None
        elif net and entry["unrealized"] is not None:
            entry["unrealized"] += (ltp - average) * net
    for entry in result.values():
        entry["total"] = None if entry["unrealized"] is None else entry["realized"] + entry["unrealized"]
    return result


def order_timeline(orders) -> dict:
    """order id -> its events (OrderEvent) in time order, for the orders given, in one query."""
    by_order: dict = {order.pk: [] for order in orders}
    for event in OrderEvent.objects.filter(order_id__in=list(by_order)).order_by("at", "id"):
        by_order[event.order_id].append(event)
    return by_order
