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
import uuid
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from brokers.adapters.base import BrokerError, BrokerTimeout, OrderRequest, OrderResult, adapter_for
from brokers.models import BrokerAccount
from config.db import bulk_insert_new, bulk_update, update_returning
from market.models import Instrument

from ..models import Execution, Order
from .claims import (
    Leases,
    broker_call_since,
    broker_timeout,
    claimed,
    executions_claim,
    orders_claim,
    sent_grace,
)
from .lifecycle import strategy_orders_cancel
from .orders import events_record, order_transition, transition
from .plan import Plan, entries_plan, exits_plan
from .reconciliation import ABSENT, FAILED, order_reconcile
from .results import answers_store, broker_results, executions_finish

log = logging.getLogger(__name__)


def _request(order: Order, products: dict) -> OrderRequest:
    return OrderRequest(
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


def _error_text(exc: BaseException) -> str:
    return exc.message if isinstance(exc, BrokerError) else f"{type(exc).__name__}: {exc}"


def _send_many(broker, orders: list[Order], products: dict, *, claimed: bool = False) -> None:
    """Send orders whose intents are stored, in one call to the broker under the broker deadline. Nothing is
    retried. A refusal marks the order REJECTED. A timeout, or any exception from the adapter (whether the
    orders reached the broker is then unknown), leaves it UNKNOWN for reconciliation. Every write is
    conditional on the order still carrying this placer's send token and being SENT. `claimed`: the orders
    were written SENT with their intents (`_presend`); otherwise PENDING ones are claimed here."""
    if not orders:
        return
    mine = _claimed_again(orders) if claimed else orders_claim(orders)
    if not mine:
        return
    for order in mine:
        order.presend = False  # from here on the broker may have it: a failure leaves it UNKNOWN
    token = mine[0].send_token
    answered, failed = [], []
    try:
        requests = [_request(order, products) for order in mine]
        answers = broker_call_since(mine[0].claimed_monotonic, broker.place_orders, requests)
        if len(answers) != len(mine):
            raise BrokerTimeout(f"the broker answered {len(answers)} of {len(mine)} orders")
    except Exception as exc:
        log.warning("placing %d order(s) (%s...) failed: %s", len(mine), mine[0].tag, _error_text(exc))
        answers = [exc if isinstance(exc, BrokerTimeout) else BrokerTimeout(_error_text(exc))] * len(mine)
    for order, answer in zip(mine, answers, strict=True):
        if isinstance(answer, OrderResult):
            answered.append((order, answer))
        elif isinstance(answer, BrokerError) and not isinstance(answer, BrokerTimeout):
            failed.append((order, Order.Status.REJECTED, answer.message))
        else:  # a timeout, or an answer that is not one: the outcome is unknown
            error = _error_text(answer) if isinstance(answer, BaseException) else f"unexpected answer {answer!r}"
            failed.append((order, Order.Status.UNKNOWN, error))
    answers_store(answered=answered, failed=failed, held=Q(send_token=token, status=Order.Status.SENT))


def _guards(orders: list[Order]) -> dict:
    """For each SELL among one execution's orders on one account: the BUYs it waits for (those of its option
    type: its own hedge on entry, the shorts bought back on exit; an unwind's with the unwind's). A SELL with
    none, and every BUY, waits for nothing."""
    buys: dict = {}
    for order in orders:
        if order.side == "BUY":
            buys.setdefault((order.unwind, order.instrument.option_type), []).append(order)
    return {o.pk: buys.get((o.unwind, o.instrument.option_type), []) for o in orders if o.side == "SELL"}


def _presend(orders: list[Order]) -> list:
    """Mark SENT, in memory, the orders of a fresh run that wait for nothing (they go in the first broker call),
    so that their intents are written already claimed: one send token per account, stamped with the intents
    in their transaction, instead of a second write right after it. Returns their SENT events."""
    now, claimed = timezone.now(), time.monotonic()
    tokens: dict = {}
    groups: dict = {}
    for order in orders:
        groups.setdefault((order.execution_id, order.broker_account_id), []).append(order)
    events = []
    for group in groups.values():
        guards = _guards(group)
        for order in group:
            if guards.get(order.pk):
                continue
            events.append(transition(order, Order.Status.SENT, source="placement", at=now))
            order.sent_at = now
            order.send_token = tokens.setdefault(order.broker_account_id, uuid.uuid4())
            order.claimed_monotonic, order.presend = claimed, True
    return events


def _unpresend(orders: list[Order]) -> None:
    for order in orders:
        if getattr(order, "presend", False):
            order.status, order.sent_at, order.send_token, order.presend = Order.Status.PENDING, None, None, False


def _claimed_again(orders: list[Order]) -> list[Order]:
    """The orders written SENT with their intents, as this placer still holds them. Sent at once (the usual
    case: milliseconds after the intents), they need no write. A placer that reaches them later (accounts
    placed one after another, or queued behind slow ones) stamps a new send time first, conditional on the
    row being as it wrote it, so that the broker deadline runs from now and never from a claim that has aged;
    an order someone else changed meanwhile is not sent."""
    if not orders:
        return []
    if time.monotonic() - orders[0].claimed_monotonic < broker_timeout() / 4:
        return orders
    token, sent_at = orders[0].send_token, orders[0].sent_at
    now, claimed = timezone.now(), time.monotonic()
    mine = set(
        update_returning(
            Order.objects.filter(
                pk__in=[o.pk for o in orders], status=Order.Status.SENT, send_token=token, sent_at=sent_at
            ),
            sent_at=now,
        )
    )
    for order in orders:
        if order.pk in mine:
            order.sent_at, order.claimed_monotonic = now, claimed
        else:
            order.refresh_from_db()
            order.presend = False
    return [order for order in orders if order.pk in mine]


def _resume(broker, by_execution: dict, leases: Leases) -> None:
    """A resumed attempt settles what an earlier one left SENT or UNKNOWN, by asking the broker by tag.

    A SENT order sent less than the grace ago may still be on its way (the worker that sent it may be
    stalled, not dead): its execution is released untouched, and a later delivery resumes it. After the
    grace, an order the broker has is stored as the broker has it; a SENT one it does not have never reached
    it, and goes back to PENDING (only if no one else changed it meanwhile), so sending it now is the first
    send, not a retry. An UNKNOWN one the broker does not have stays UNKNOWN for reconciliation."""
    grace, now = sent_grace(), timezone.now()
    for execution_id, orders in by_execution.items():
        for order in orders:
            if not leases.held(execution_id):
                break
            if order.status not in (Order.Status.SENT, Order.Status.UNKNOWN):
                continue
            if order.status == Order.Status.SENT and (order.sent_at is None or now - order.sent_at < grace):
                log.warning("order %s was sent less than %s ago, may be in flight: resume later", order.tag, grace)
                leases.release(execution_id)
                break
            outcome = order_reconcile(broker, order)
            if outcome == FAILED and order.status == Order.Status.SENT:
                leases.release(execution_id)  # cannot tell whether it reached the broker: try again later
            elif outcome == ABSENT and order.status == Order.Status.SENT:
                _unsent(order)


def _unsent(order: Order) -> None:
    """Back to PENDING a SENT order the broker, asked after the grace, does not have (only if no one changed
    it meanwhile)."""
    with transaction.atomic():
        seen = Order.objects.select_for_update().filter(
            pk=order.pk, status=Order.Status.SENT, send_token=order.send_token, sent_at=order.sent_at
        )
        if seen.exists():
            detail = f"the broker has no order tagged {order.tag}: the send never reached it"
            order_transition(order, Order.Status.PENDING, source="reconcile", detail=detail)
            Order.objects.filter(pk=order.pk).update(send_token=None)
            order.send_token = None


def _not_sent(orders: list[Order], reason: str) -> None:
    """Orders this attempt will not send end CANCELLED with the reason (never left PENDING)."""
    pending = [order for order in orders if order.status == Order.Status.PENDING]
    if not pending:
        return
    now = timezone.now()
    with transaction.atomic():
        still = set(
            Order.objects.select_for_update()
            .filter(pk__in=[order.pk for order in pending], status=Order.Status.PENDING)
            .values_list("pk", flat=True)
        )
        pending = [order for order in pending if order.pk in still]
        events = [
            transition(order, Order.Status.CANCELLED, source="placement", at=now, detail=reason) for order in pending
        ]
        for order in pending:
            order.error = reason
        bulk_update(pending, ["status", "error", "updated_at"])
        events_record(events)


def _abandon(by_execution: dict, leases: Leases, exc: BaseException) -> None:
    """After an unexpected failure placing an account: what this attempt sent and has no answer for is
    UNKNOWN (reconciliation looks it up), what it did not send is not sent. Never left SENT or PENDING."""
    reason = _error_text(exc)
    try:
        for execution_id, orders in by_execution.items():
            if not leases.held(execution_id):
                continue
            sent = [order for order in orders if order.status == Order.Status.SENT and order.send_token]
            for token in {order.send_token for order in sent}:
                answers_store(
                    answered=[],
                    failed=[
                        # written SENT with its intent but never handed to the broker: certainly not sent
                        (order, Order.Status.CANCELLED, f"not sent: {reason}")
                        if getattr(order, "presend", False)
                        else (order, Order.Status.UNKNOWN, reason)
                        for order in sent
                        if order.send_token == token
                    ],
                    held=Q(send_token=token, status=Order.Status.SENT),
                )
            _not_sent(orders, f"not sent: {reason}")
    except Exception:  # the database itself is failing: the lease runs out and a resume settles them
        log.exception("could not mark the orders of a failed placement")


def _blocked(by_execution: dict, pending: list[Order], guards: dict) -> list[Order]:
    """SELLs that can no longer go because an order they wait for failed. On exit: always (a hedge is never
    sold while the short it covers could not be bought back). On entry: only when nothing of the execution
    on this account filled or still works, so there is nothing for on_failed_entry to unwind or keep."""
    failed = (Order.Status.REJECTED, Order.Status.CANCELLED)
    waiting_of: dict = {}  # pending SELLs whose guard failed, per execution, in pending order
    for o in pending:
        if o.status == Order.Status.PENDING and any(g.status in failed for g in guards.get(o.pk, ())):
            waiting_of.setdefault(o.execution_id, []).append(o)
    blocked = []
    for execution_id, orders in by_execution.items():
        waiting = waiting_of.get(execution_id)
        if not waiting:
            continue
        exit_ = orders[0].execution.execution_type == Execution.Type.EXIT
        idle = all(o.filled_quantity == 0 and o.status in (*failed, Order.Status.PENDING) for o in orders)
        if exit_ or idle:
            blocked += waiting
    return blocked


def _place_account(
    account: BrokerAccount, by_execution: dict, products: dict, leases: Leases, fresh=frozenset()
) -> None:
    """Place one account's orders of every execution in the batch that this worker still holds. First every
    order that waits for nothing (BUYs, and SELLs with no BUY of their option type in the execution); then
    each SELL whose guards (the BUYs of its option type: its own hedge on entry, the shorts bought back on
    exit) have all filled. A SELL whose guards are still working stays PENDING: the order lifecycle sends it
    when they fill, or unwinds the entry if they cannot (`lifecycle.py`). Any failure ends this account's
    orders UNKNOWN (sent) or CANCELLED (not sent), and is raised for the execution's error; the other
    accounts are not affected. `fresh`: the executions whose intents this attempt wrote, their first orders
    already claimed (`_presend`); the others are resumed and settled with the broker first."""
    try:
        broker = adapter_for(account)
        _resume(broker, {k: v for k, v in by_execution.items() if k not in fresh}, leases)
        guards: dict = {}
        for orders in by_execution.values():
            guards.update(_guards(orders))
        claimed_first = [
            o
            for execution_id, orders in by_execution.items()
            if execution_id in fresh and leases.held(execution_id)
            for o in orders
            if getattr(o, "presend", False)
        ]
        pending = [
            o
            for execution_id, orders in by_execution.items()
            if leases.held(execution_id)
            for o in orders
            if o.status == Order.Status.PENDING
        ]
        leases.renew()  # before sending, so the lease outlasts the grace of what goes out now
        _send_many(broker, claimed_first, products, claimed=True)
        _send_many(broker, [o for o in pending if not guards.get(o.pk)], products)
        leases.renew()
        second = [
            o
            for o in pending
            if guards.get(o.pk)
            and o.status == Order.Status.PENDING
            and leases.held(o.execution_id)
            and all(g.status == Order.Status.FILLED for g in guards[o.pk])
        ]
        _send_many(broker, second, products)
        _not_sent(_blocked(by_execution, pending, guards), "not sent: the order it waits for did not fill")
        leases.renew()
    except Exception as exc:  # a bug, a failing database or adapter: this account's orders end settled
        log.exception("placing orders of account %s failed", account.client_id)
        _abandon(by_execution, leases, exc)
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


def _write_intents(planned: list[tuple[Execution, Plan]]) -> tuple[list[Order] | None, set]:
    """Every order intent of the batch, in one bulk insert, before any broker call, for the executions this
    worker still holds (checked under a lock in the same transaction). Deterministic tags make a repeat a
    no-op. The orders that wait for nothing go in already claimed for the first broker call (`_presend`),
    with their SENT events. The planned per-leg results are stored with them, so a trader sees the plan at
    once. Returns the orders when every one of them is the stored row (none was there before), else None;
    and the ids of the executions that were no longer held."""
    if not planned:
        return [], set()
    with transaction.atomic():  # the intents, their claims and the planned results commit together
        held = set(
            Execution.objects.select_for_update().filter(claimed([e for e, _ in planned])).values_list("pk", flat=True)
        )
        lost = {e.pk for e, _ in planned} - held
        planned = [(e, plan) for e, plan in planned if e.pk in held]
        orders = [o for _, plan in planned for o in plan.orders]
        for execution, plan in planned:
            execution.total_legs = len({leg.leg_no for account in plan.accounts for leg in account.legs})
            execution.execution_results = {"broker_executions": broker_results(execution, plan, plan.orders)}
        events = _presend(orders)
        inserted = bulk_insert_new(orders, unique=["tag"])
        if len(inserted) == len(orders):
            events_record(events)
        else:  # some intents were there already (not under the lock, but never assume it): the new ones stay
            # plain intents (a resumed run settles the execution with the broker), every order is read back
            claimed_now = [o.pk for o in inserted if getattr(o, "presend", False)]
            Order.objects.filter(pk__in=claimed_now).update(status=Order.Status.PENDING, sent_at=None, send_token=None)
            _unpresend(orders)
        bulk_update([e for e, _ in planned], ["total_legs", "execution_results"])
    return (orders if len(inserted) == len(orders) else None), lost


def _plans(executions: list[Execution], now: dt.datetime) -> dict:
    entries = [e for e in executions if e.execution_type == Execution.Type.ENTRY]
    exits = [e for e in executions if e.execution_type != Execution.Type.ENTRY]
    return {
        **(entries_plan(executions=entries, now=now) if entries else {}),
        **(exits_plan(executions=exits, now=now) if exits else {}),
    }


def _related(orders: list[Order], accounts: dict, instruments: dict) -> tuple[dict, dict, list[Order]]:
    """Attach each order's account and instrument, loading only those not in `accounts` / `instruments` yet
    (which are extended); returns both and the orders."""
    for ids, model, known in (
        ({o.broker_account_id for o in orders}, BrokerAccount, accounts),
        ({o.instrument_id for o in orders}, Instrument, instruments),
    ):
        if missing := ids - known.keys():
            known.update(model.objects.in_bulk(missing))
    for order in orders:
        order.broker_account, order.instrument = accounts[order.broker_account_id], instruments[order.instrument_id]
    return accounts, instruments, orders


def executions_run(*, execution_ids, now: dt.datetime | None = None) -> list[Execution]:
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
    # An exit cancels first: the strategy's working orders elsewhere, so that it closes the actual book.
    strategy_orders_cancel(executions=[e for e in executions if e.pk not in resumed], now=now)
    plans = _plans([e for e in executions if e.pk not in resumed], now)
    refused = [e for e in executions if e.pk in plans and plans[e.pk].error]
    planned = [(e, plans[e.pk]) for e in executions if e.pk in plans and not plans[e.pk].error]
    orders = [o for _, plan in planned for o in plan.orders]
    accounts, instruments, _ = _related(orders, {}, {})  # the intents' claims need each order's option type
    written, lost = _write_intents(planned)
    running = [e for e in executions if e not in refused and e.pk not in lost]
    # The intents just written are the stored rows; only a resumed execution's orders are read back.
    stored = running if written is None else [e for e in running if e.pk in resumed]
    orders = list(written or [])
    if stored:
        orders += _related(list(Order.objects.filter(execution_id__in=[e.pk for e in stored])), accounts, instruments)[
            2
        ]
    orders.sort(key=lambda o: (str(o.broker_account_id), str(o.execution_id), o.sequence))
    by_account: dict = {}
    by_execution: dict = {e.pk: [] for e in running}
    for order in orders:
        by_account.setdefault(order.broker_account_id, {}).setdefault(order.execution_id, []).append(order)
        by_execution[order.execution_id].append(order)
    # the executions whose first orders went in claimed with their intents (none after a read-back)
    fresh = frozenset(e.pk for e, _ in planned if e.pk not in lost) if written is not None else frozenset()
    products = {e.pk: e.strategy.product for e in running}
    leases = Leases(running)
    jobs = [(accounts[account_id], orders_by, products, leases, fresh) for account_id, orders_by in by_account.items()]
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
    # An execution this worker no longer holds (released to a later resume, or resumed by another worker
    # while this one stalled) is not finished here.
    held = [e for e in running if leases.held(e.pk)]
    # The placers kept the orders in memory as they wrote them; after a failure, read back what was stored.
    return executions_finish(refused + held, plans, started, None if errors else by_execution)


def batch_run(*, batch_id, now: dt.datetime | None = None) -> list[Execution]:
    """The executions a tick message names by its batch id (ids only travel in the message)."""
    return executions_run(
        execution_ids=list(Execution.objects.filter(batch=batch_id).values_list("pk", flat=True)), now=now
    )


def execution_run(*, execution_id, now: dt.datetime | None = None) -> Execution | None:
    """One execution: a batch of one. None when another worker has it or it is finished."""
    ran = executions_run(execution_ids=[execution_id], now=now)
    return ran[0] if ran else None
