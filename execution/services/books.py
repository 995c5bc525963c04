"""Each fill lands in the book of the strategy whose order it fills: Position is per (strategy, account,
instrument), so two strategies trading the same contract on the same account never share a row."""

from decimal import Decimal

from django.db import IntegrityError, transaction

from ..calendar import EXCHANGE_TZ
from ..models import Fill, Order, Position


def apply_fill(position: Position, *, side: str, quantity: int, price: Decimal) -> Decimal:
    """Update net quantity, average price and realized P&L in place; returns the P&L this fill realized."""
    signed = quantity if side == "BUY" else -quantity
    net = position.net_quantity
    realized = Decimal(0)
    if net == 0 or (net > 0) == (signed > 0):
        total = abs(net) + quantity
        position.average_price = ((position.average_price * abs(net) + price * quantity) / total).quantize(
            Decimal("0.01")
        )
    else:
        closing = min(abs(net), quantity)
        direction = 1 if net > 0 else -1  # long positions gain when the closing price is higher
        realized = (price - position.average_price) * closing * direction
        if quantity > abs(net):
            position.average_price = price  # crossed through zero: the remainder opens at this price
        elif quantity == abs(net):
            position.average_price = Decimal(0)
    position.net_quantity = net + signed
    position.realized_pnl += realized
    return realized


def fill_record(*, order: Order, fill_id: str, quantity: int, price: Decimal, at) -> bool:
    """Record one fill of `order` exactly once (a repeated fill id is ignored). Returns True when new.
    Call inside a transaction (placement._record does), so the fill and its position change commit together."""
    try:
        with transaction.atomic():
            Fill.objects.create(
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
    except IntegrityError:
        return False
    key = {
        "strategy_id": order.strategy_id,
        "broker_account_id": order.broker_account_id,
        "instrument_id": order.instrument_id,
    }
    Position.objects.bulk_create([Position(**key)], ignore_conflicts=True)  # ON CONFLICT DO NOTHING
    position = Position.objects.select_for_update().get(**key)
    day = at.astimezone(EXCHANGE_TZ).date()
    if position.day != day:
        position.day, position.day_realized_pnl = day, Decimal(0)
    position.day_realized_pnl += apply_fill(position, side=order.side, quantity=quantity, price=price)
    position.save()
    return True
