"""Order sync: the books follow the broker. One entry point, `orders_sync`, for every way the broker's word
arrives: polling (every second while any order works, from the feed loop), a broker's push (postbacks), the
minute tick, and reconciliation. Each call takes the account's orders as the broker reports them (one
`orders_status` call when the caller has none), moves each platform order through the state machine, and
books every broker fill exactly once, keyed by the broker's fill id."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from brokers.adapters.base import OrderResult, adapter_for
from brokers.models import BrokerAccount
from config.db import bulk_update

from ..models import Order, OrderEvent
from . import books, orders
from .claims import broker_call

log = logging.getLogger(__name__)
S = Order.Status
SYNC_FIELDS = [*orders.ORDER_FIELDS, "broker_order_id", "chase_count", "chased_at"]


@dataclass
class SyncReport:
    changed: int = 0  # orders whose state moved
    fills: int = 0  # fills newly booked
    skipped: list[str] = field(default_factory=list)  # reports the state machine refused, named


def broker_status(result: OrderResult) -> str:
    """The platform status a broker's report means: a working order with fills is PARTIAL; a rejection or
    cancel after fills keeps those fills and ends CANCELLED."""
    status = result.status
    if status in ("OPEN", "PARTIAL"):
        return S.PARTIAL if result.filled_quantity else S.OPEN
    if status == "REJECTED" and result.filled_quantity:
        return S.CANCELLED
    return {"FILLED": S.FILLED, "CANCELLED": S.CANCELLED, "REJECTED": S.REJECTED}.get(status, S.UNKNOWN)


def _differs(order: Order, result: OrderResult) -> bool:
    return (
        order.status != broker_status(result)
        or order.filled_quantity != result.filled_quantity
        or (result.quantity and order.quantity != result.quantity)
        or order.broker_order_id != result.broker_order_id
        or (result.limit_price is not None and order.limit_price != result.limit_price)
    )


def results_apply(
    pairs: list[tuple[Order, OrderResult]], *, source: str, now: dt.datetime | None = None, details: dict | None = None
) -> SyncReport:
    """Apply broker reports to their orders (locked by the caller or fresh from a lock): book the new fills,
    move each order through the state machine, write orders and events. `details` (order id -> text) says
    why, for changes the platform asked for (a cancel, a chase). Call inside a transaction."""
    now = now or timezone.now()
    report = SyncReport()
    fills, changed, events = [], [], []
    for order, result in pairs:
        to = broker_status(result)
        detail = result.message if to in (S.REJECTED, S.CANCELLED) else ""
        if to in (S.PARTIAL, S.FILLED) and result.filled_quantity != order.filled_quantity:
            detail = f"filled {result.filled_quantity} at {result.average_price}"
        if details and order.pk in details:
            detail = f"{details[order.pk]}; {detail}" if detail else details[order.pk]
        try:
            event = orders.transition(
                order,
                to,
                source=source,
                at=now,
                detail=detail,
                filled_quantity=result.filled_quantity,
                average_price=result.average_price,
                quantity=result.quantity or None,
                limit_price=result.limit_price,
            )
        except orders.TransitionError as exc:
            log.warning("order sync refused a broker report: %s", exc)
            report.skipped.append(str(exc))
            continue
        if event is None and order.broker_order_id == result.broker_order_id:
            continue
        if to == S.REJECTED:
            order.error = result.message
        order.broker_order_id = result.broker_order_id
        fills += [(order, f.fill_id, f.quantity, f.price, f.at) for f in result.fills]
        changed.append(order)
        events.append(event)
    if changed:
        report.fills = books.fills_record(fills=fills)
        bulk_update(changed, SYNC_FIELDS)
        orders.events_record(events)
    report.changed = len(changed)
    return report


def orders_sync(
    *, account: BrokerAccount, results: list[OrderResult] | None = None, source: str = OrderEvent.Source.POLL
) -> SyncReport:
    """Bring the account's orders and books in line with what its broker reports.

    `results` are the broker's reports (a push, or a status call the caller made); without them this makes one
    `orders_status` call. Orders the broker does not report are left alone (a SENT order it has not seen yet is
    reconciliation's to judge). Idempotent: the same reports applied twice change nothing the second time, and
    each broker fill is booked once (unique per account and fill id). Raises what the adapter raises."""
    if results is None:
        results = broker_call(adapter_for(account).orders_status)
    by_tag = {result.tag: result for result in results if result.tag}
    if not by_tag:
        return SyncReport()
    # A first read without locks finds the few orders whose state moved; only those are locked and re-read.
    fields = ["pk", "tag", "status", "filled_quantity", "quantity", "broker_order_id", "limit_price"]
    moved = [
        order.pk
        for order in Order.objects.filter(broker_account=account, tag__in=list(by_tag)).only(*fields)
        if _differs(order, by_tag[order.tag])
    ]
    if not moved:
        return SyncReport()
    with transaction.atomic():
        locked = Order.objects.select_for_update().filter(pk__in=moved).order_by("pk")  # one lock order
        pairs = [(order, by_tag[order.tag]) for order in locked if _differs(order, by_tag[order.tag])]
        return results_apply(pairs, source=source)


def accounts_working() -> list[BrokerAccount]:
    """Accounts with an order the broker may still change (sent, open, partly filled, or of unknown outcome)."""
    ids = Order.objects.filter(status__in=orders.WORKING).order_by().values_list("broker_account_id", flat=True)
    return list(BrokerAccount.objects.filter(pk__in=ids.distinct()))


def orders_sync_all(*, source: str = OrderEvent.Source.POLL) -> SyncReport:
    """One sync pass over every account with working orders: one status call each. One account's failure
    (session expired, broker down) is logged and skips that account only."""
    total = SyncReport()
    for account in accounts_working():
        try:
            report = orders_sync(account=account, source=source)
        except Exception:  # an adapter or a bug: this account waits for the next pass; the others go on
            log.exception("order sync of %s failed", account.client_id)
            continue
        total.changed += report.changed
        total.fills += report.fills
        total.skipped += report.skipped
    return total
