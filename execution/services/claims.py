"""Claims and leases: which worker holds an execution (a claim token and a lease it renews), which placer
holds an order (a send token stamped when it goes PENDING -> SENT), and the deadline every broker call runs
under.

The timings fit together: a broker call gives up after BROKER_CALL_TIMEOUT_SECONDS, shorter than the lease,
so a worker whose broker stalls still holds its executions when it marks the orders UNKNOWN; a SENT order is
looked up (and sent again only when the broker has no order with its tag) after ORDER_SENT_GRACE_SECONDS,
longer than the broker timeout, so the call that sent it has given up by then."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from brokers.adapters.base import BrokerTimeout, call_deadline
from config.db import bulk_update, update_returning
from market.calendar import EXCHANGE_TZ

from ..models import Alert, Execution, Order
from .alerts import alert_new
from .orders import events_record, transition


def lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.EXECUTION_LEASE_SECONDS)


def broker_timeout() -> float:
    """Seconds a broker call may take (checked against the lease and the grace on every read, so a settings
    override in a test or a deployment cannot break the order of the three)."""
    timeout, grace = settings.BROKER_CALL_TIMEOUT_SECONDS, settings.ORDER_SENT_GRACE_SECONDS
    if not 0 < timeout < settings.EXECUTION_LEASE_SECONDS or not grace > timeout:
        raise ImproperlyConfigured(
            f"BROKER_CALL_TIMEOUT_SECONDS ({timeout}) must be positive and shorter than EXECUTION_LEASE_SECONDS "
            f"({settings.EXECUTION_LEASE_SECONDS}) and than ORDER_SENT_GRACE_SECONDS ({grace})"
        )
    return timeout


def sent_grace() -> dt.timedelta:
    broker_timeout()
    return dt.timedelta(seconds=settings.ORDER_SENT_GRACE_SECONDS)


_broker_pool: ThreadPoolExecutor | None = None
_broker_pool_lock = threading.Lock()


def _broker_threads() -> ThreadPoolExecutor:
    global _broker_pool
    with _broker_pool_lock:
        if _broker_pool is None:  # started on first use, so after a worker's fork
            _broker_pool = ThreadPoolExecutor(
                max_workers=getattr(settings, "BROKER_CALL_THREADS", 16), thread_name_prefix="broker"
            )
        return _broker_pool


def _call(deadline: float, fn, args, kwargs):
    try:
        if time.monotonic() > deadline:  # queued behind stalled calls until too late: never start it
            raise BrokerTimeout("the broker call did not start before its deadline")
        with call_deadline(deadline):  # nor send one more order once the caller gave up on the call
            return fn(*args, **kwargs)
    finally:
        connection.close_if_unusable_or_obsolete()


def broker_call(fn, *args, **kwargs):
    """`fn(*args, **kwargs)` (an adapter method) under the broker deadline: its answer, or the exception it
    raised, or BrokerTimeout when it has not answered within BROKER_CALL_TIMEOUT_SECONDS. A call that times
    out may still reach the broker later: its orders are UNKNOWN, and only a lookup by tag settles them."""
    return broker_call_since(time.monotonic(), fn, *args, **kwargs)


def broker_call_since(started: float, fn, *args, **kwargs):
    """`broker_call` whose deadline runs from `started` (a time.monotonic() reading), not from now. Placement
    passes the moment it claimed the orders: a worker that stalls between its claim and the call (past the
    grace after which another worker may resume and send them) never starts the call at all."""
    timeout = broker_timeout()
    deadline = started + timeout
    if time.monotonic() > deadline:
        raise BrokerTimeout("the broker call did not start before its deadline")
    future = _broker_threads().submit(_call, deadline, fn, args, kwargs)
    try:
        return future.result(timeout=max(deadline - time.monotonic(), 0))
    except FuturesTimeout:
        future.cancel()
        raise BrokerTimeout(f"the broker did not answer within {timeout:g} s") from None


def executions_claim(execution_ids, *, now: dt.datetime) -> list[Execution]:
    """Take these executions for this worker; returns the ones it now holds (others belong to another worker
    or are finished).

    A SCHEDULED execution is claimed with a conditional UPDATE, so exactly one claimant wins; the UPDATE stamps
    a fresh token and the winner reads back the rows carrying its token. A scheduled one claimed later than
    the lateness budget becomes MISSED, with a critical alert, instead of trading late. An IN_PROGRESS one
    whose lease has expired (its worker died) is resumed."""
    budget = dt.timedelta(seconds=settings.EXECUTION_LATENESS_BUDGET_SECONDS)
    token, lease_until = uuid.uuid4(), now + lease()
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
        status=Execution.Status.IN_PROGRESS, started_at=now, lease_expires_at=lease_until, attempts=1, claim_token=token
    )
    Execution.objects.filter(pk__in=ids, status=Execution.Status.IN_PROGRESS, lease_expires_at__lt=now).update(
        lease_expires_at=lease_until, attempts=F("attempts") + 1, claim_token=token
    )
    mine = list(Execution.objects.filter(pk__in=ids, claim_token=token).select_related("strategy", "strategy__basket"))
    missed = [e for e in mine if e.status == Execution.Status.MISSED]
    for execution in missed:
        lateness = (now - execution.due_at).total_seconds()
        execution.error = (
            f"{execution.strategy} {execution.execution_type} due {execution.due_at.astimezone(EXCHANGE_TZ):%H:%M:%S} IST was not started: "
            f"{lateness:.0f} s late, beyond the {budget.seconds} s budget. Nothing was traded; act manually if needed."
        )
    if missed:
        bulk_update(missed, ["error"])
        Alert.objects.bulk_create(
            alert_new(execution=e, kind=Alert.Kind.MISSED, message=e.error, severity="CRITICAL") for e in missed
        )
    return [e for e in mine if e.status == Execution.Status.IN_PROGRESS]


def claimed(executions) -> Q:
    """The rows of these executions still IN_PROGRESS under the claim tokens the objects carry: the
    condition of every write a worker makes after its claim."""
    return Q(status=Execution.Status.IN_PROGRESS) & Q(
        *[Q(pk=e.pk, claim_token=e.claim_token) for e in executions], _connector=Q.OR
    )


class Leases:
    """Keeps a batch's leases, and knows which of its executions this worker still holds. Shared by the
    account threads of one batch.

    Renewal writes at most every third of the lease (in real elapsed time), enough to keep the leases
    without a write per order, and only where the execution still carries this worker's claim token: a
    worker that stalled past its lease finds that another worker has resumed the execution, and stops
    touching it (held() is False) instead of writing over the new holder."""

    def __init__(self, executions):
        self.tokens = {e.pk: e.claim_token for e in executions}
        self.renewed = time.monotonic()
        self.lock = threading.Lock()

    def held(self, execution_id) -> bool:
        return execution_id in self.tokens

    def release(self, execution_id) -> None:
        """Stop renewing this execution: its lease runs out and a later delivery resumes it."""
        with self.lock:
            self.tokens.pop(execution_id, None)

    def renew(self) -> None:
        started = time.monotonic()
        with self.lock:
            if started - self.renewed < lease().total_seconds() / 3:
                return
            self.renewed = started
            tokens = dict(self.tokens)
        now = timezone.now()
        held = claimed([Execution(pk=pk, claim_token=token) for pk, token in tokens.items()])
        if not tokens or Execution.objects.filter(held).update(lease_expires_at=now + lease()) == len(tokens):
            return
        still = set(Execution.objects.filter(held).values_list("pk", flat=True))
        with self.lock:
            for pk in set(tokens) - still:
                self.tokens.pop(pk, None)


def orders_claim(orders: list[Order]) -> list[Order]:
    """Mark PENDING orders SENT (committed before any broker call, so a crash in between is found by
    reconciliation instead of being sent again). Returns the ones this placer holds, each carrying the send
    token that its later writes must still find on the row; an order another placer holds is never sent
    twice. One conditional UPDATE that returns the rows it won, and their events, in one transaction."""
    token, now, claimed = uuid.uuid4(), timezone.now(), time.monotonic()
    with transaction.atomic():
        mine = set(
            update_returning(
                Order.objects.filter(pk__in=[order.pk for order in orders], status=Order.Status.PENDING),
                status=Order.Status.SENT,
                sent_at=now,
                send_token=token,
            )
        )
        events = []
        for order in orders:
            if order.pk in mine:
                events.append(transition(order, Order.Status.SENT, source="placement", at=now))
                order.sent_at, order.send_token = now, token
                order.claimed_monotonic = claimed  # the send's deadline runs from here (broker_call_since)
        events_record(events)
    for order in orders:
        if order.pk not in mine:
            order.refresh_from_db()
    return [order for order in orders if order.pk in mine]
