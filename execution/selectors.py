from decimal import Decimal

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


def book_charges(*, strategy_ids) -> dict:
    """(strategy id, broker account id, instrument id) -> the estimated charges (`execution.charges`, rates in
    settings) of every executed order of that book line, in one query: each order's premium turnover is
    Σ fill price × quantity, brokerage is charged once per order. The net P&L every page shows is the gross P&L
    minus these. An order filled over several days gives the same total as the daily marks (which charge its
    brokerage on its first day) up to paisa rounding per day."""
    from django.db.models import F, Sum

    from .charges import Charges, Rates, order_charges
    from .models import Fill

    rates = Rates.from_settings()
    result: dict = {}
    rows = (
        Fill.objects.filter(strategy_id__in=list(strategy_ids))
        .order_by()
        .values("order_id", "side", "strategy_id", "broker_account_id", "instrument_id")
        .annotate(turnover=Sum(F("price") * F("quantity")))
    )
    for row in rows:
        key = (row["strategy_id"], row["broker_account_id"], row["instrument_id"])
        charges = order_charges(side=row["side"], turnover=row["turnover"], rates=rates)
        result[key] = result.get(key, Charges()) + charges
    return result


def charges_of(charges: dict, position) -> Decimal:
    """The estimated charges of one book line, from `book_charges` (0 when it has no fill)."""
    found = charges.get((position.strategy_id, position.broker_account_id, position.instrument_id))
    return found.total if found else Decimal(0)


def with_net(entry: dict) -> dict:
    """Adds gross (realized + unrealized; None while a held contract has no price) and net (gross − charges) to
    a P&L entry with realized, unrealized and charges."""
    gross = None if entry["unrealized"] is None else entry["realized"] + entry["unrealized"]
    entry["gross"] = gross
    entry["net"] = None if gross is None else gross - entry["charges"]
    return entry


def pnl_sum(entries) -> dict:
    """The sum of `strategy_pnl` entries (a basket's P&L): unrealized, gross and net stay None when any is."""
    entries = list(entries)
    unknown = any(entry["unrealized"] is None for entry in entries)
    total = {
        "realized": sum((entry["realized"] for entry in entries), Decimal(0)),
        "unrealized": None if unknown else sum((entry["unrealized"] for entry in entries), Decimal(0)),
        "charges": sum((entry["charges"] for entry in entries), Decimal(0)),
    }
    with_net(total)
    total["total"] = total["gross"]
    return total


def strategy_pnl(*, strategy_ids) -> dict:
    """Per strategy: realized P&L, unrealized P&L at the last price (None when a held contract has no price),
    gross (= total, their sum), the estimated charges of its executed orders and net (gross − charges), from the
    strategy's own book, in two queries."""
    from .models import Position

    strategy_ids = list(strategy_ids)
    zero = Decimal(0)
    result = {pk: {"realized": zero, "unrealized": zero, "charges": zero} for pk in strategy_ids}
    for (strategy_id, _, _), charges in book_charges(strategy_ids=strategy_ids).items():
        result[strategy_id]["charges"] += charges.total
    rows = Position.objects.filter(strategy_id__in=strategy_ids).values_list(
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
        with_net(entry)
        entry["total"] = entry["gross"]
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
