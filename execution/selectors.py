from .models import OrderEvent


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


def held_contracts():
    """The feed's demand from the books (registered in `ExecutionConfig.ready`): every open position's contract,
    active or not, as a lazy subquery the feed runs inside its own queries."""
    from market.feed import QuoteDemand

    from .models import Position

    return QuoteDemand(held=Position.objects.exclude(net_quantity=0).values("instrument_id"))
