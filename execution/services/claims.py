"""Claims and leases: which worker holds an execution (a claim token and a lease it renews) and which placer
holds an order (a send token stamped when it goes PENDING -> SENT)."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from config.db import bulk_update

from ..models import Alert, Execution, Order
from .alerts import new_alert
from .orders import events_record, transition

LEASE = dt.timedelta(seconds=getattr(settings, "EXECUTION_LEASE_SECONDS", 30))


def executions_claim(execution_ids, *, now: dt.datetime) -> list[Execution]:
    """Take these executions for this worker; returns the ones it now holds (others belong to another worker
    or are finished).

    A SCHEDULED execution is claimed with a conditional UPDATE, so exactly one claimant wins; the UPDATE stamps
    a fresh token and the winner reads back the rows carrying its token. A scheduled one claimed later than
    the lateness budget becomes MISSED, with a critical alert, instead of trading late. An IN_PROGRESS one
    whose lease has expired (its worker died) is resumed."""
    budget = dt.timedelta(seconds=settings.EXECUTION_LATENESS_BUDGET_SECONDS)
    token, lease = uuid.uuid4(), now + LEASE
    ids = list(execution_ids)
    scheduled = Execution.objects.filter(pk__in=ids, status=Execution.Status.SCHEDULED)
    late = Q(trigger=Execution.Trigger.SCHEDULED, due_at__lt=now - budget)
    scheduled.filter(late).update(
        status=Execution.Status.MISSED,
        completed_at=now,
        error="claimed after the lateness budget",
        claim_token=token,
    )
    scheduled.exclude(late).update(
        status=Execution.Status.IN_PROGRESS, started_at=now, lease_expires_at=lease, attempts=1, claim_token=token
    )
    Execution.objects.filter(pk__in=ids, status=Execution.Status.IN_PROGRESS, lease_expires_at__lt=now).update(
        lease_expires_at=lease, attempts=F("attempts") + 1, claim_token=token
    )
    mine = list(Execution.objects.filter(pk__in=ids, claim_token=token).select_related("strategy", "strategy__basket"))
    missed = [e for e in mine if e.status == Execution.Status.MISSED]
    for execution in missed:
        lateness = (now - execution.due_at).total_seconds()
        execution.error = (
            f"{execution.strategy} {execution.execution_type} due {execution.due_at:%H:%M:%S} UTC was not started: "
            f"{lateness:.0f} s late, beyond the {budget.seconds} s budget. Nothing was traded; act manually if needed."
        )
    if missed:
        bulk_update(missed, ["error"])
        Alert.objects.bulk_create(new_alert(e, Alert.Kind.MISSED, e.error, severity="CRITICAL") for e in missed)
    return [e for e in mine if e.status == Execution.Status.IN_PROGRESS]


class Leases:
    """Keeps a batch's leases: extended at most every third of their length, enough to keep them without a
    write per order. Shared by the account threads of one batch."""

    def __init__(self, execution_ids):
        self.ids = list(execution_ids)
        self.renewed = timezone.now()
        self.lock = threading.Lock()

    def renew(self) -> None:
        now = timezone.now()
        with self.lock:
            if now - self.renewed < LEASE / 3:
                return
            self.renewed = now
        Execution.objects.filter(pk__in=self.ids, status=Execution.Status.IN_PROGRESS).update(
            lease_expires_at=now + LEASE
        )


def orders_claim(orders: list[Order]) -> list[Order]:
    """Mark PENDING orders SENT (committed before any broker call, so a crash in between is found by
    reconciliation instead of being sent again). Returns the ones this placer holds; an order another placer
    (a resumed attempt) holds is never sent twice."""
    token, now = uuid.uuid4(), timezone.now()
    ids = [order.pk for order in orders]
    Order.objects.filter(pk__in=ids, status=Order.Status.PENDING).update(
        status=Order.Status.SENT, sent_at=now, send_token=token
    )
    mine = set(Order.objects.filter(pk__in=ids, send_token=token).values_list("pk", flat=True))
    events = []
    for order in orders:
        if order.pk in mine:
            events.append(transition(order, Order.Status.SENT, source="placement", at=now))
            order.sent_at = now
        else:
            order.refresh_from_db()
    events_record(events)
    return [order for order in orders if order.pk in mine]
