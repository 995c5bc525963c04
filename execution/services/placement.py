"""run_execution: claim exactly once, write every order intent before any broker call, place per account in
parallel, never retry blindly, and finish with per-broker, per-leg results.

Executions due at the same instant run in batches (`executions_run`): one claim, one plan load, one insert of
intents and, per account, one call to the broker per group of orders (hedges, then the rest) and one write of
their fills, whatever the batch size. A single execution is a batch of one, through the same code."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from brokers.adapters.base import BrokerError, BrokerTimeout, OrderRequest, adapter_for
from brokers.models import BrokerAccount
from config.db import bulk_insert, bulk_update
from market.models import Instrument

from ..models import Execution, Order
from .claims import Leases, executions_claim, orders_claim
from .orders import events_record, transition
from .plan import Plan, plan_entries, plan_exits
from .reconciliation import order_reconcile
from .results import answers_record, broker_results, executions_finish

log = logging.getLogger(__name__)


def _send_many(broker, orders: list[Order], products: dict) -> None:
    """Send orders whose intents are stored, in one call to the broker. A timeout leaves the order UNKNOWN
    for reconciliation; a refusal marks it REJECTED; nothing is retried."""
    mine = orders_claim(orders)
    if not mine:
        return
    requests = [
        OrderRequest(
            tag=order.tag,
            instrument_id=order.instrument_id,
            exchange=order.instrument.exchange,
            tradingsymbol=order.instrument.tradingsymbol,
            side=order.side,
            quantity=order.quantity,
            order_type=order.order_type,
            limit_price=order.limit_price,
            product=products[order.execution_id],
        )
        for order in mine
    ]
    answers = broker.place_orders(requests)
    answered, failed, events, now = [], [], [], timezone.now()
    for order, answer in zip(mine, answers, strict=True):
        if isinstance(answer, BrokerError):
            to = Order.Status.UNKNOWN if isinstance(answer, BrokerTimeout) else Order.Status.REJECTED
            events.append(transition(order, to, source="placement", at=now, detail=answer.message))
            order.error = answer.message
            failed.append(order)
        else:
            answered.append((order, answer))
    if failed:
        with transaction.atomic():
            bulk_update(failed, ["status", "error", "updated_at"])
            events_record(events)
    answers_record(answered)


def _place_account(account: BrokerAccount, by_execution: dict, products: dict, leases: Leases) -> None:
    """Place one account's orders of every execution in the batch. Within an execution the first group (BUYs
    on entry, shorts bought back on exit) goes first; the second goes only when every order of the first
    group filled: a short is never left without its hedge."""
    try:
        broker = adapter_for(account)
        for orders in by_execution.values():  # a resumed attempt: settle what the dead one left in flight
            for order in orders:
                if order.status in (Order.Status.SENT, Order.Status.UNKNOWN):
                    if not order_reconcile(broker, order) and order.status == Order.Status.SENT:
                        # The broker has no order with this tag: the earlier attempt never reached it, so
                        # sending it now is the first send, not a retry.
                        with transaction.atomic():
                            if Order.objects.filter(pk=order.pk, status=Order.Status.SENT).update(
                                status=Order.Status.PENDING
                            ):
                                order.status = Order.Status.SENT
                                detail = f"the broker has no order tagged {order.tag}: the send never reached it"
                                events_record([transition(order, Order.Status.PENDING, source="reconcile",
                                                          detail=detail)])  # fmt: skip
        first_side = {execution_id: orders[0].side for execution_id, orders in by_execution.items()}
        _send_many(
            broker,
            [
                o
                for orders in by_execution.values()
                for o in orders
                if o.side == first_side[o.execution_id] and o.status == Order.Status.PENDING
            ],
            products,
        )
        leases.renew()
        second, held_back = [], []
        for execution_id, orders in by_execution.items():
            hedged = all(o.status == Order.Status.FILLED for o in orders if o.side == first_side[execution_id])
            for order in orders:
                if order.side != first_side[execution_id] and order.status == Order.Status.PENDING:
                    (second if hedged else held_back).append(order)
        if held_back:
            now, events = timezone.now(), []
            for order in held_back:
                order.error = "not sent: an order of the hedge group before it did not fill"
                events.append(transition(order, Order.Status.CANCELLED, source="placement", at=now, detail=order.error))
            with transaction.atomic():
                bulk_update(held_back, ["status", "error", "updated_at"])
                events_record(events)
        _send_many(broker, second, products)
        leases.renew()
    except Exception:  # a bug or an unreachable broker: leave the orders as they are, reconcile later
        log.exception("placing orders of account %s failed", account.client_id)
        raise


def _place_account_in_thread(*args) -> None:
    try:
        _place_account(*args)
    finally:
        # Each placement thread has its own connection, kept for the next batch within CONN_MAX_AGE (a new
        # PostgreSQL connection costs a backend start and cold caches) and closed when obsolete or broken.
        connection.close_if_unusable_or_obsolete()


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _account_pool() -> ThreadPoolExecutor:
    """The process's placement threads, shared by the batches it runs (started on first use, after a fork)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=getattr(settings, "EXECUTION_ACCOUNT_THREADS", 8), thread_name_prefix="place"
            )
        return _pool


def _write_intents(planned: list[tuple[Execution, Plan]]) -> list[Order] | None:
    """Every order intent of the batch, in one bulk insert, before any broker call. Deterministic tags make a
    repeat a no-op. The planned per-leg results are stored with them, so a trader sees the plan at once.
    Returns the orders when every one of them is the stored row (none was there before), else None."""
    orders = [o for _, plan in planned for o in plan.orders]
    for execution, plan in planned:
        execution.total_legs = len({leg.leg_no for account in plan.accounts for leg in account.legs})
        execution.execution_results = {"broker_executions": broker_results(execution, plan, plan.orders)}
    with transaction.atomic():  # the intents and the planned results commit together
        inserted = bulk_insert(orders, ignore_conflicts=True)
        bulk_update([e for e, _ in planned], ["total_legs", "execution_results"])
    return orders if inserted == len(orders) else None


def _plans(executions: list[Execution], now: dt.datetime) -> dict:
    entries = [e for e in executions if e.execution_type == Execution.Type.ENTRY]
    exits = [e for e in executions if e.execution_type != Execution.Type.ENTRY]
    return {**(plan_entries(entries, now) if entries else {}), **(plan_exits(exits, now) if exits else {})}


def executions_run(execution_ids, *, now: dt.datetime | None = None) -> list[Execution]:
    """Claim, plan (first attempt only), write intents, place per account in parallel, finish. Returns the
    executions this call ran. Safe to call any number of times concurrently with overlapping ids: each
    execution is run by one caller only."""
    started = time.monotonic()
    now = now or timezone.now()
    executions = executions_claim(execution_ids, now=now)
    if not executions:
        return []
    resumed = set(
        Order.objects.filter(execution_id__in=[e.pk for e in executions])
        .order_by()
        .values_list("execution_id", flat=True)
        .distinct()
    )  # a resume keeps the intents already written and is not planned again
    plans = _plans([e for e in executions if e.pk not in resumed], now)
    refused = [e for e in executions if e.pk in plans and plans[e.pk].error]
    written = _write_intents([(e, plans[e.pk]) for e in executions if e.pk in plans and not plans[e.pk].error])
    running = [e for e in executions if e not in refused]
    # The intents just written are the stored rows; only a resumed execution's orders are read back.
    stored = running if written is None else [e for e in running if e.pk in resumed]
    orders = list(written or [])
    if stored:
        orders += Order.objects.filter(execution_id__in=[e.pk for e in stored])
    orders.sort(key=lambda o: (str(o.broker_account_id), str(o.execution_id), o.sequence))
    accounts = BrokerAccount.objects.in_bulk({o.broker_account_id for o in orders})
    instruments = Instrument.objects.in_bulk({o.instrument_id for o in orders})
    by_account: dict = {}
    by_execution: dict = {e.pk: [] for e in running}
    for order in orders:
        order.broker_account, order.instrument = accounts[order.broker_account_id], instruments[order.instrument_id]
        by_account.setdefault(order.broker_account_id, {}).setdefault(order.execution_id, []).append(order)
        by_execution[order.execution_id].append(order)
    products = {e.pk: e.strategy.product for e in running}
    leases = Leases([e.pk for e in running])
    jobs = [(accounts[account_id], orders_by, products, leases) for account_id, orders_by in by_account.items()]
    errors: dict = {}
    if len(jobs) > 1 and getattr(settings, "EXECUTION_PARALLEL_ACCOUNTS", True):
        pool = _account_pool()
        futures = {job[0].pk: pool.submit(_place_account_in_thread, *job) for job in jobs}
        errors = {account_id: f.exception() for account_id, f in futures.items() if f.exception() is not None}
    else:
        for job in jobs:
            try:
                _place_account(*job)
            except Exception as exc:  # recorded below; the other accounts still go
                errors[job[0].pk] = exc
    for execution in running:
        failures = [str(exc) for account_id, exc in errors.items() if execution.pk in by_account[account_id]]
        if failures:
            execution.error = "; ".join(failures)
    # The placers kept the orders in memory as they wrote them; after a failure, read back what was stored.
    return executions_finish(refused + running, plans, started, None if errors else by_execution)


def batch_run(batch_id, *, now: dt.datetime | None = None) -> list[Execution]:
    """The executions a tick message names by its batch id (ids only travel in the message)."""
    return executions_run(list(Execution.objects.filter(batch=batch_id).values_list("pk", flat=True)), now=now)


def execution_run(execution_id, *, now: dt.datetime | None = None) -> Execution | None:
    """One execution: a batch of one. None when another worker has it or it is finished."""
    ran = executions_run([execution_id], now=now)
    return ran[0] if ran else None
