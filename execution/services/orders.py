"""The order state machine: the one place an order's status changes, and every change an OrderEvent.

    PENDING ─► SENT ─► OPEN ─► PARTIAL ─► FILLED
       │        │       │         │
       │        │       └─────────┴────► CANCELLED / REJECTED
       │        └─► UNKNOWN (outcome not known: reconciliation asks the broker by tag)
       └─► CANCELLED (never sent: its hedge did not fill, the entry was unwound, an exit cancelled it)

A broker may skip states (a market order goes SENT -> FILLED at once) and report a later state before an
earlier one arrives; what it may never do is leave a terminal state or move a fill backwards. Same-state
events record a change of fill, price or quantity (a partial fill growing, a chase modifying the limit).

`transition` validates and applies one change in memory and returns its unsaved event; callers that write
many orders in one statement (placement, sync) collect the events and insert them with `events_record`.
`order_transition` is the one-order convenience that saves both."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from config.db import build, bulk_insert

from ..models import Order, OrderEvent

S = Order.Status
TERMINAL = frozenset({S.FILLED, S.CANCELLED, S.REJECTED})
# Orders the broker may still fill or change: order sync asks about them.
WORKING = frozenset({S.SENT, S.OPEN, S.PARTIAL, S.UNKNOWN})
ALLOWED = {
    S.PENDING: {S.PENDING, S.SENT, S.CANCELLED, S.REJECTED, S.UNKNOWN},
    # SENT -> PENDING only when the broker, asked by tag long after the send, confirms it never got it.
    S.SENT: {S.SENT, S.PENDING, S.OPEN, S.PARTIAL, S.FILLED, S.CANCELLED, S.REJECTED, S.UNKNOWN},
    S.OPEN: {S.OPEN, S.PARTIAL, S.FILLED, S.CANCELLED, S.REJECTED, S.UNKNOWN},
    S.PARTIAL: {S.PARTIAL, S.FILLED, S.CANCELLED, S.UNKNOWN},
    S.UNKNOWN: {S.UNKNOWN, S.PENDING, S.OPEN, S.PARTIAL, S.FILLED, S.CANCELLED, S.REJECTED},
    S.FILLED: set(),
    S.CANCELLED: set(),
    S.REJECTED: set(),
}
SOURCES = frozenset(OrderEvent.Source.values)


class TransitionError(Exception):
    """A change the state machine refuses (a bug or a broker report out of order); the order is unchanged."""


def is_terminal(status: str) -> bool:
    return status in TERMINAL


def transition(
    order: Order,
    to: str,
    *,
    source: str,
    at: dt.datetime | None = None,
    detail: str = "",
    filled_quantity: int | None = None,
    average_price: Decimal | None = None,
    limit_price: Decimal | None = None,
    quantity: int | None = None,
    order_type: str | None = None,
    record_unchanged: bool = False,
) -> OrderEvent | None:
    """Apply one change to `order` in memory and return its (unsaved) event, or None when nothing changed
    (unless `record_unchanged`: a step the platform took that changed nothing, such as a chase whose touch
    had not moved, still gets its event).

    Raises TransitionError, leaving the order as it was, for a move the machine does not allow: out of a
    terminal state, a fill that shrinks, more filled than ordered. Unset keyword arguments keep their value."""
    if source not in SOURCES:
        raise TransitionError(f"unknown event source {source!r}")
    previous = order.status
    filled = order.filled_quantity if filled_quantity is None else filled_quantity
    new_quantity = order.quantity if quantity is None else quantity
    new_limit = order.limit_price if limit_price is None else limit_price
    new_type = order.order_type if order_type is None else order_type
    changed = (
        to != previous
        or filled != order.filled_quantity
        or new_quantity != order.quantity
        or new_limit != order.limit_price
        or new_type != order.order_type
    )
    if not changed and not record_unchanged:
        return None
    if to not in ALLOWED[previous]:
        raise TransitionError(f"order {order.tag}: {previous} -> {to} is not allowed")
    if filled < order.filled_quantity:
        raise TransitionError(
            f"order {order.tag}: filled quantity cannot go back ({order.filled_quantity} -> {filled})"
        )
    if filled > new_quantity:
        raise TransitionError(f"order {order.tag}: filled {filled} exceeds its quantity {new_quantity}")
    if to == S.FILLED and filled != new_quantity:
        raise TransitionError(f"order {order.tag}: FILLED with {filled} of {new_quantity}")
    at = at or timezone.now()
    order.status = to
    order.filled_quantity = filled
    order.quantity = new_quantity
    order.limit_price = new_limit
    order.order_type = new_type
    if average_price is not None:
        order.average_price = average_price
    order.updated_at = at
    return build(
        OrderEvent,
        order=order,
        at=at,
        from_status=previous,
        to_status=to,
        source=source,
        detail=detail[:300],
        quantity=new_quantity,
        filled_quantity=filled,
        price=new_limit,
    )


def events_record(events: list[OrderEvent | None]) -> int:
    """Insert the events the transitions returned (None entries are skipped), in one statement."""
    rows = [event for event in events if event is not None]
    bulk_insert(rows)
    return len(rows)


ORDER_FIELDS = [
    "status",
    "filled_quantity",
    "quantity",
    "limit_price",
    "order_type",
    "average_price",
    "error",
    "updated_at",
]


@transaction.atomic
def order_transition(order: Order, to: str, *, source: str, detail: str = "", **changes) -> OrderEvent | None:
    """One order's change, saved with its event. Returns the event (None when nothing changed)."""
    event = transition(order, to, source=source, detail=detail, **changes)
    if event is not None:
        if to in (S.REJECTED, S.CANCELLED, S.UNKNOWN) and detail:
            order.error = detail
        order.save(update_fields=ORDER_FIELDS)
        event.save()
    return event
