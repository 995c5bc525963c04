"""Reconciliation: look orders whose outcome is not known (UNKNOWN, or SENT by a worker that died) up at
their broker by tag, and store what the broker says."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q

from brokers.adapters.base import BrokerError, adapter_for

from ..models import Order
from .claims import LEASE
from .orders import order_transition
from .results import answers_record


def order_reconcile(broker, order: Order) -> bool:
    """Look the order's tag up at the broker. True when the broker has it (and its state is stored)."""
    try:
        result = broker.find_order(order.tag)
    except BrokerError as exc:
        order.error = f"reconciliation failed: {exc.message}"
        order.save(update_fields=["error", "updated_at"])
        return False
    if result is None:
        return False
    answers_record([(order, result)], source="reconcile")
    return True


def orders_reconcile(*, now: dt.datetime) -> int:
    """Look up every order left UNKNOWN (or SENT by a worker that died) at its broker. Returns how many were
    resolved. Orders the broker never received are left for the execution's resume to send."""
    stale_sent = now - LEASE
    pending = (
        Order.objects.filter(Q(status=Order.Status.UNKNOWN) | Q(status=Order.Status.SENT, sent_at__lt=stale_sent))
        .select_related("broker_account", "instrument")
        .order_by("broker_account_id")
    )
    resolved = 0
    adapters: dict = {}
    for order in pending:
        broker = adapters.setdefault(order.broker_account_id, adapter_for(order.broker_account))
        if order_reconcile(broker, order):
            resolved += 1
        elif order.status == Order.Status.UNKNOWN and order.sent_at and order.sent_at < now - 2 * LEASE:
            # Verified absent long after the timeout: it never reached the broker. It is not re-sent this late;
            # the trader sees it as not placed.
            with transaction.atomic():
                if Order.objects.select_for_update().filter(pk=order.pk, status=Order.Status.UNKNOWN).exists():
                    order_transition(
                        order,
                        Order.Status.CANCELLED,
                        source="reconcile",
                        detail=f"{order.error}; the broker has no order tagged {order.tag}: it was never placed",
                    )
            resolved += 1
    return resolved
