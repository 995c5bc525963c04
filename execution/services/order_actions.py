"""A trader's own actions on one working order: cancel it, or send it at market now.

Both go to the broker through the account's adapter (`cancel_order`, `modify_order`), record the broker's answer
through the state machine with source "user" (the order's timeline says who acted), and leave the rest to the
normal paths: order sync books whatever the broker reports later, and the order lifecycle reacts to the new state
as it would to any other (a cancelled entry leg is a leg that cannot fill: the strategy's `on_failed_entry`
applies on that account; a hedge that fills at market releases the shorts waiting for it).

What may be acted on:
- OPEN or PARTIAL: at the broker, cancel and go-to-market both go.
- SENT or UNKNOWN: the broker's word is not in yet; the account is synced first, and the action goes when that
  shows the order working at the broker. Otherwise it is refused with a message to try again.
- PENDING (never sent: a short waiting for its hedge): cancel marks it cancelled here; go-to-market is refused
  (sending it at market would send a short ahead of its hedge).
- FILLED, CANCELLED, REJECTED: refused with a message naming the state.

Refusals raise `OrderActionError` (a ConflictError: 409 in the API, a warning on the pages)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from brokers.adapters.base import BrokerError, adapter_for
from config.exceptions import ConflictError
from market.contracts import instrument_name

from ..models import Order, OrderEvent
from .claims import broker_call
from .lifecycle import AT_BROKER, _record, _touch, market_changes, policy_of
from .orders import TERMINAL, transition
from .sync import orders_sync

S = Order.Status
USER = OrderEvent.Source.USER


class OrderActionError(ConflictError):
    """The order cannot take this action in its current state; the message says why, for a trader."""


def _owned(order: Order, user) -> Order:
    """The order, fresh from the database, when `user` owns its strategy (else DoesNotExist, as for a missing id)."""
    fresh = (
        Order.objects.filter(pk=order.pk, strategy__owner=user)
        .select_related("broker_account", "instrument__quote", "leg", "strategy")
        .first()
    )
    if fresh is None:
        raise Order.DoesNotExist(f"order {order.pk} not found")
    return fresh


def _name(order: Order) -> str:
    return f"{order.side} {order.quantity} {instrument_name(order.instrument)} ({order.broker_account.client_id})"


def _at_broker(order: Order, action: str) -> Order:
    """The order in a state the broker can act on, syncing its account first when its state is not yet known."""
    if order.status in TERMINAL:
        raise OrderActionError(f"{_name(order)} is already {order.status.lower()}: nothing to {action}.")
    if order.status in (S.SENT, S.UNKNOWN):
        try:
            orders_sync(account=order.broker_account)
        except BrokerError as exc:
            raise OrderActionError(
                f"{order.broker_account.client_id}: the broker could not be asked: {exc.message}"
            ) from exc
        order.refresh_from_db()
        if order.status in TERMINAL:
            raise OrderActionError(f"{_name(order)} is already {order.status.lower()}: nothing to {action}.")
        if order.status not in AT_BROKER:
            raise OrderActionError(
                f"{_name(order)}: the broker has not confirmed this order yet. Try again in a moment."
            )
    return order


def order_cancel(order: Order, *, user, now: dt.datetime | None = None) -> Order:
    """Cancel `order` for its owner `user`. Returns the order as recorded after the broker's answer: CANCELLED,
    or FILLED/PARTIAL when a fill beat the cancel (the broker's answer is the truth). Raises Order.DoesNotExist
    for another user's order and OrderActionError when the order cannot be cancelled now."""
    now = now or timezone.now()
    order = _owned(order, user)
    if order.status == S.PENDING:
        with transaction.atomic():
            locked = Order.objects.select_for_update().get(pk=order.pk)
            if locked.status == S.PENDING:
                event = transition(locked, S.CANCELLED, source=USER, at=now, detail="cancelled by the trader")
                locked.error = "cancelled by the trader (never sent)"
                locked.save(update_fields=["status", "error", "updated_at"])
                event.save()
                return _owned(locked, user)
        order = _owned(order, user)  # it was sent meanwhile: cancel it at the broker
    order = _at_broker(order, "cancel")
    try:
        result = broker_call(adapter_for(order.broker_account).cancel_order, order.broker_order_id)
    except BrokerError as exc:
        raise OrderActionError(f"{_name(order)}: the broker refused the cancel: {exc.message}") from exc
    _record([(order, result)], source=USER, details={order.pk: "cancelled by the trader"})
    return _owned(order, user)


def order_to_market(order: Order, *, user, now: dt.datetime | None = None) -> Order:
    """Send `order`'s unfilled quantity at market now, with the market protection of its leg (the chase's last
    step, `lifecycle.market_changes`). Returns the order as recorded after the broker's answer (FILLED when the
    market took it; still OPEN at market when the protection price is not reached). Raises Order.DoesNotExist for
    another user's order and OrderActionError when it cannot go to market now (finished, not yet at the broker,
    waiting for its hedge, or no fresh price to protect it with)."""
    now = now or timezone.now()
    order = _owned(order, user)
    if order.status == S.PENDING:
        raise OrderActionError(
            f"{_name(order)} has not been sent: it waits for its hedge to fill. Cancel it, or send the hedge to "
            "market first."
        )
    order = _at_broker(order, "send to market")
    if order.order_type == "MARKET":
        raise OrderActionError(f"{_name(order)} is already at market.")
    touch = _touch(order, now)
    if touch is None:
        raise OrderActionError(
            f"{instrument_name(order.instrument)}: no fresh price to protect a market order with. Try again when the "
            "feed is back."
        )
    changes, why = market_changes(order, touch, policy_of(order))
    # The row stays locked from the check to the record: a second go-to-market on the same order (a double
    # click, two tabs, the API) waits here, then finds it at market or finished and is refused with a 409.
    with transaction.atomic():
        locked = Order.objects.select_for_update().filter(pk=order.pk).values("status", "order_type").get()
        if locked["status"] in TERMINAL:
            raise OrderActionError(f"{_name(order)} is already {locked['status'].lower()}: nothing to send to market.")
        if locked["order_type"] == "MARKET":
            raise OrderActionError(f"{_name(order)} is already at market.")
        try:
            result = broker_call(adapter_for(order.broker_account).modify_order, order.broker_order_id, **changes)
        except BrokerError as exc:
            raise OrderActionError(f"{_name(order)}: the broker refused to send it at market: {exc.message}") from exc
        order.order_type = "MARKET"
        order.chased_at = now  # a MARKET order gets its leg's chase window from now before it counts as failed
        _record([(order, result)], source=USER, details={order.pk: f"sent to market by the trader: {why}"})
        Order.objects.filter(pk=order.pk).update(order_type="MARKET", chased_at=now)
    return _owned(order, user)
