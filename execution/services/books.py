"""Each fill lands in the book of the strategy whose order it fills: Position is per (strategy, account,
instrument), so two strategies trading the same contract on the same account never share a row."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from config.db import build, bulk_insert_new, bulk_update, rows_locked_or_created
from market.calendar import EXCHANGE_TZ
from market.quotes import is_stale

from ..models import Fill, Position

PAISA = Decimal("0.01")
AVERAGE_PLACES = Decimal("0.000001")  # Position.average_price holds 6 decimal places


def position_ltp(position: Position, *, now: dt.datetime) -> Decimal | None:
    """The last fresh price of the position's contract (its instrument's quote), None when stale or missing:
    nothing is decided on a stale price."""
    quote = getattr(position.instrument, "quote", None)
    if quote is None or is_stale(quote.updated_at, now):
        return None
    return quote.ltp


def position_pnl_today(position: Position, *, now: dt.datetime) -> Decimal | None:
    """Realized today plus unrealized at the last fresh price (None without one): what the daily-loss
    monitor and the pre-trade daily-loss check both compare with max_daily_loss."""
    today = now.astimezone(EXCHANGE_TZ).date()
    realized = position.day_realized_pnl if position.day == today else Decimal(0)
    if position.net_quantity == 0:
        return realized
    ltp = position_ltp(position, now=now)
    if ltp is None:
        return None
    return realized + (ltp - position.average_price) * position.net_quantity


def fill_apply(*, position: Position, side: str, quantity: int, price: Decimal) -> Decimal:
    """Update net quantity, open cost, average price and realized P&L in place; returns the P&L this fill
    realized.

    The book keeps the exact cost of what is open (`open_cost`, the sum of price × quantity, never rounded).
    A fill that closes part of the position takes its share of that cost (rounded to the paisa); the fill that
    closes the rest takes what is left. So once a position is flat, its realized P&L is exactly its cash flow
    (sells minus buys), as the broker's contract note has it, however often it was scaled in and out.
    `average_price` is the open cost per unit, for display and unrealized P&L."""
    signed = quantity if side == "BUY" else -quantity
    net = position.net_quantity
    realized = Decimal(0)
    if net == 0 or (net > 0) == (signed > 0):
        position.open_cost += price * quantity
    else:
        closing = min(abs(net), quantity)
        direction = 1 if net > 0 else -1  # long positions gain when the closing price is higher
        if closing == abs(net):
            released = position.open_cost
        else:
            released = (position.open_cost * closing / abs(net)).quantize(PAISA)
        realized = (price * closing - released) * direction
        position.open_cost -= released
        if quantity > abs(net):
            position.open_cost = price * (quantity - abs(net))  # crossed through zero: the rest opens here
    position.net_quantity = net + signed
    position.average_price = (
        (position.open_cost / abs(position.net_quantity)).quantize(AVERAGE_PLACES)
        if position.net_quantity
        else Decimal(0)
    )
    position.realized_pnl += realized
    return realized


def fills_record(*, fills: list[tuple]) -> int:
    """Record fills, each `(order, fill_id, quantity, price, at)`, exactly once (a fill id already stored for
    its order is ignored), and apply each new one to its strategy's Position. Call inside a transaction: the
    positions are locked first (created where missing, in one statement), so concurrent recorders of the same
    book take turns; the fills then go in with ON CONFLICT DO NOTHING on (order, fill id) and only the ones
    inserted move the book, so a fill can never be counted twice. Returns how many fills were new. Three
    statements however many fills."""
    if not fills:
        return 0
    keys = sorted({(o.strategy_id, o.broker_account_id, o.instrument_id) for o, *_ in fills}, key=str)
    positions = {
        (p.strategy_id, p.broker_account_id, p.instrument_id): p
        for p in rows_locked_or_created(
            [build(Position, strategy_id=s, broker_account_id=a, instrument_id=i) for s, a, i in keys],
            unique=["strategy_id", "broker_account_id", "instrument_id"],
        )
    }
    candidates, seen = [], set()
    for order, fill_id, quantity, price, at in fills:
        if (order.pk, fill_id) in seen:  # the same fill twice in one report
            continue
        seen.add((order.pk, fill_id))
        candidates.append(
            build(
                Fill,
                order=order,
                strategy_id=order.strategy_id,
                broker_account_id=order.broker_account_id,
                instrument_id=order.instrument_id,
                side=order.side,
                quantity=quantity,
                price=price,
                broker_fill_id=fill_id,
                filled_at=at,
            )
        )
    new = bulk_insert_new(candidates, unique=["order_id", "broker_fill_id"])
    changed = {}
    for fill in new:
        order = fill.order
        key = (order.strategy_id, order.broker_account_id, order.instrument_id)
        position = changed[key] = positions[key]
        day = fill.filled_at.astimezone(EXCHANGE_TZ).date()
        if position.day != day:
            position.day, position.day_realized_pnl = day, Decimal(0)
        position.day_realized_pnl += fill_apply(
            position=position, side=order.side, quantity=fill.quantity, price=fill.price
        )
    now = timezone.now()
    for position in changed.values():
        position.updated_at = now
    bulk_update(
        list(changed.values()),
        ["net_quantity", "open_cost", "average_price", "realized_pnl", "day", "day_realized_pnl", "updated_at"],
    )
    return len(new)
