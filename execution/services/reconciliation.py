"""Reconciliation: look orders whose outcome is not known (UNKNOWN, or SENT by a worker that stalled or died)
up at their broker by tag, and store what the broker says. Every lookup runs under the broker deadline, and
every write is conditional on the order still being in the state the lookup started from."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from brokers.adapters.base import BrokerError, adapter_for

from ..models import Execution, Order
from .claims import broker_call, sent_grace
from .orders import order_transition
from .results import answers_store

log = logging.getLogger(__name__)

FOUND, ABSENT, FAILED = "found", "absent", "failed"


def _as_seen(order: Order) -> Q:
    return Q(status=order.status, send_token=order.send_token)


def order_reconcile(broker, order: Order) -> str:
    """Look the order's tag up at the broker. FOUND when the broker has it (its state is stored, unless
    another writer changed the order meanwhile), ABSENT when the broker has no order with this tag, FAILED
    when the lookup itself failed (the error is stored on the order)."""
    try:
        result = broker_call(broker.find_order, order.tag)
    except Exception as exc:  # any failure of the lookup leaves the order as it is, to be looked up again
        message = exc.message if isinstance(exc, BrokerError) else f"{type(exc).__name__}: {exc}"
        order.error = f"reconciliation failed: {message}"
        Order.objects.filter(_as_seen(order), pk=order.pk).update(error=order.error, updated_at=timezone.now())
        return FAILED
    if result is None:
        return ABSENT
    answers_store(answered=[(order, result)], failed=[], held=_as_seen(order), source="reconcile")
    return FOUND


def order_never_placed(order: Order) -> bool:
    """The broker, asked by tag after the grace, has no such order: it never got it. Terminal (CANCELLED,
    not sent again this late); False when another writer changed the order meanwhile."""
    with transaction.atomic():
        if not Order.objects.select_for_update().filter(_as_seen(order), pk=order.pk).exists():
            return False
        error = f"{order.error}; " if order.error else ""
        order_transition(
            order,
            Order.Status.CANCELLED,
            source="reconcile",
            detail=f"{error}the broker has no order tagged {order.tag}: it was never placed",
        )
    return True


def orders_reconcile(*, now: dt.datetime) -> int:
    """Look up every order left UNKNOWN, or SENT for longer than the grace, at its broker. Returns how many
    were resolved. An order the broker has is stored as the broker has it. One the broker does not have,
    after the grace: a SENT one of an execution still IN_PROGRESS is left to that execution's resume (which
    sends it: the first send, not a retry); any other is marked never placed. A failing account (no adapter,
    a lookup that raises) is logged and skipped; the others are still reconciled."""
    grace = sent_grace()
    pending = (
        Order.objects.filter(Q(status=Order.Status.UNKNOWN) | Q(status=Order.Status.SENT, sent_at__lt=now - grace))
        .select_related("broker_account", "instrument", "execution")
        .order_by("broker_account_id")
    )
    resolved = 0
    adapters: dict = {}
    for order in pending:
        if order.broker_account_id not in adapters:
            try:
                adapters[order.broker_account_id] = adapter_for(order.broker_account)
            except Exception:
                log.exception("reconciling account %s: no adapter", order.broker_account.client_id)
                adapters[order.broker_account_id] = None
        broker = adapters[order.broker_account_id]
        if broker is None:
            continue
        outcome = order_reconcile(broker, order)
        if outcome == FOUND:
            resolved += 1
        elif outcome == ABSENT and order.sent_at and order.sent_at < now - grace:
            resumable = order.status == Order.Status.SENT and order.execution.status == Execution.Status.IN_PROGRESS
            if not resumable and order_never_placed(order):
                resolved += 1
    return resolved
