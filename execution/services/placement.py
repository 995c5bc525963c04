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
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from brokers.adapters.base import BrokerError, BrokerTimeout, OrderRequest, OrderResult, adapter_for
from brokers.models import BrokerAccount, Instrument
from config.db import bulk_insert, bulk_update

from ..models import Alert, Execution, Order
from . import books
from .plan import Plan, plan_entries, plan_exits

log = logging.getLogger(__name__)

LEASE = dt.timedelta(seconds=getattr(settings, "EXECUTION_LEASE_SECONDS", 30))
STATUS_OF = {
    "FILLED": Order.Status.FILLED,
    "PARTIAL": Order.Status.PARTIAL,
    "OPEN": Order.Status.OPEN,
    "REJECTED": Order.Status.REJECTED,
    "CANCELLED": Order.Status.CANCELLED,
}
RESULT_FIELDS = ["status", "broker_order_id", "filled_quantity", "average_price", "error", "updated_at"]


def new_alert(execution: Execution, kind: str, message: str, *, account=None, severity="WARNING") -> Alert:
    return Alert(
        owner_id=execution.strategy.owner_id,
        kind=kind,
        severity=severity,
        message=message,
        strategy_id=execution.strategy_id,
        execution=execution,
        broker_account=account,
    )


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


def _apply(order: Order, result: OrderResult, now: dt.datetime) -> None:
    order.status = STATUS_OF[result.status]
    order.broker_order_id = result.broker_order_id
    order.filled_quantity = result.filled_quantity
    order.average_price = result.average_price
    order.error = result.message if order.status == Order.Status.REJECTED else ""
    order.updated_at = now


def _record_many(answered: list[tuple[Order, OrderResult]]) -> None:
    """Store the broker's answers on the orders and their fills in the strategies' books, in one transaction."""
    if not answered:
        return
    now = timezone.now()
    with transaction.atomic():
        books.fills_record(
            [(order, f.fill_id, f.quantity, f.price, f.at) for order, result in answered for f in result.fills]
        )
        for order, result in answered:
            _apply(order, result, now)
        bulk_update([order for order, _ in answered], RESULT_FIELDS)


def _claim_orders(orders: list[Order]) -> list[Order]:
    """Mark PENDING orders SENT (committed before any broker call, so a crash in between is found by
    reconciliation instead of being sent again). Returns the ones this placer holds; an order another placer
    (a resumed attempt) holds is never sent twice."""
    token, now = uuid.uuid4(), timezone.now()
    ids = [order.pk for order in orders]
    Order.objects.filter(pk__in=ids, status=Order.Status.PENDING).update(
        status=Order.Status.SENT, sent_at=now, send_token=token
    )
    mine = set(Order.objects.filter(pk__in=ids, send_token=token).values_list("pk", flat=True))
    for order in orders:
        if order.pk in mine:
            order.status, order.sent_at = Order.Status.SENT, now
        else:
            order.refresh_from_db()
    return [order for order in orders if order.pk in mine]


def _send_many(broker, orders: list[Order], products: dict) -> None:
    """Send orders whose intents are stored, in one call to the broker. A timeout leaves the order UNKNOWN
    for reconciliation; a refusal marks it REJECTED; nothing is retried."""
    mine = _claim_orders(orders)
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
    answered, failed, now = [], [], timezone.now()
    for order, answer in zip(mine, answers, strict=True):
        if isinstance(answer, BrokerError):
            order.status = Order.Status.UNKNOWN if isinstance(answer, BrokerTimeout) else Order.Status.REJECTED
            order.error, order.updated_at = answer.message, now
            failed.append(order)
        else:
            answered.append((order, answer))
    if failed:
        bulk_update(failed, ["status", "error", "updated_at"])
    _record_many(answered)


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
    _record_many([(order, result)])
    return True


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
                        if Order.objects.filter(pk=order.pk, status=Order.Status.SENT).update(
                            status=Order.Status.PENDING
                        ):
                            order.status = Order.Status.PENDING
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
            now = timezone.now()
            for order in held_back:
                order.status, order.updated_at = Order.Status.CANCELLED, now
                order.error = "not sent: an order of the hedge group before it did not fill"
            bulk_update(held_back, ["status", "error", "updated_at"])
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


def _broker_results(execution: Execution, plan: Plan | None, orders: list[Order]) -> list[dict]:
    """Per broker, per leg results (seed 002 Step 8) from the execution's orders, its plan when this attempt
    made one, and the results an earlier attempt stored."""
    by_account: dict = {}
    for order in sorted(orders, key=lambda o: (o.broker_account.client_id, o.sequence)):
        by_account.setdefault(order.broker_account.client_id, []).append(order)
    planned = {p.account.client_id: p for p in (plan.accounts if plan else [])}
    previous = {b["client_id"]: b for b in execution.execution_results.get("broker_executions", [])}
    results = []
    for client_id in sorted(set(by_account) | set(planned) | set(previous)):
        account_orders = by_account.get(client_id, [])
        account_plan = planned.get(client_id)
        prior = previous.get(client_id, {})
        legs = []
        plan_legs = account_plan.legs if account_plan else []
        prior_legs = {leg["leg_no"]: leg for leg in prior.get("leg_executions", [])}
        leg_keys = [(r.leg_no, r) for r in plan_legs] or [(no, None) for no in sorted(prior_legs)]
        for leg_no, result in leg_keys:
            base = prior_legs.get(leg_no, {})
            tags = result.tags if result else base.get("order_tags", [])
            leg_orders = [o for o in account_orders if o.tag in set(tags)]
            filled = sum(o.filled_quantity for o in leg_orders)
            quantity = result.quantity if result else base.get("quantity", 0)
            statuses = {o.status for o in leg_orders}
            if result and result.status == "SKIPPED":
                status, message = "SKIPPED", result.message
            elif leg_orders and statuses <= {Order.Status.FILLED}:
                status = "FILLED"
                lots = quantity // max(leg_orders[0].instrument.lot_size, 1)
                message = (
                    f"{leg_orders[0].side} {quantity} ({lots} lot{'' if lots == 1 else 's'}) "
                    f"{leg_orders[0].instrument.tradingsymbol} filled at {_avg(leg_orders)}"
                )
            elif filled:
                status, message = "PARTIAL", f"filled {filled} of {quantity}"
            else:
                worst = next((o for o in leg_orders if o.status != Order.Status.FILLED), None)
                status = worst.status if worst else "NOT_PLACED"
                message = worst.error if worst else ""
            if result and result.message and status != "SKIPPED":
                message = f"{message}; {result.message}" if message else result.message
            legs.append(
                {
                    "leg_no": leg_no,
                    "transaction_type": result.transaction_type if result else base.get("transaction_type"),
                    "tradingsymbol": result.tradingsymbol if result else base.get("tradingsymbol"),
                    "base_lots": result.base_lots if result else base.get("base_lots"),
                    "final_lots": result.final_lots if result else base.get("final_lots"),
                    "multiplier_applied": float(result.multiplier_applied)
                    if result and result.multiplier_applied is not None
                    else base.get("multiplier_applied"),
                    "quantity": quantity,
                    "filled_quantity": filled,
                    "status": status,
                    "message": message,
                    "order_tags": tags,
                }
            )
        skipped = account_plan.skipped if account_plan else prior.get("reason", "")
        statuses = {leg["status"] for leg in legs}
        if skipped:
            account_status = "SKIPPED"
        elif legs and statuses == {"FILLED"}:
            account_status = "COMPLETED"
        elif "FILLED" in statuses or "PARTIAL" in statuses:
            account_status = "PARTIAL"
        else:
            account_status = "FAILED"
        allocation = account_plan.allocation if account_plan else None
        results.append(
            {
                "client_id": client_id,
                "broker": (account_plan.account.broker if account_plan else prior.get("broker")),
                "lot_multiplier": float(allocation.strategy_lots_multiplier)
                if allocation and allocation.strategy_lots_multiplier is not None
                else prior.get("lot_multiplier"),
                "total_lots": sum(leg["final_lots"] or 0 for leg in legs),
                "status": account_status,
                "reason": skipped,
                "leg_executions": legs,
            }
        )
    return results


def _avg(orders) -> str:
    quantity = sum(o.filled_quantity for o in orders)
    value = sum((o.average_price or Decimal(0)) * o.filled_quantity for o in orders)
    return f"{(value / quantity).quantize(Decimal('0.01'))}" if quantity else "-"


def _avg(orders) -> str:
    quantity = sum(o.filled_quantity for o in orders)
    value = sum((o.average_price or Decimal(0)) * o.filled_quantity for o in orders)
    return f"{(value / quantity).quantize(Decimal('0.01'))}" if quantity else "-"


FINISH_FIELDS = [
    "status",
    "completed_at",
    "lease_expires_at",
    "total_lots",
    "brokers_involved",
    "error",
    "execution_results",
]


def _finish(execution: Execution, plan: Plan | None, orders: list[Order], started: float) -> list[Alert]:
    """Set the execution's final status and results from its orders; returns the alerts it raises."""
    brokers = _broker_results(execution, plan, orders)
    statuses = [o.status for o in orders]
    filled = statuses.count(Order.Status.FILLED)
    failed = statuses.count(Order.Status.REJECTED) + statuses.count(Order.Status.CANCELLED)
    unknown = statuses.count(Order.Status.UNKNOWN) + statuses.count(Order.Status.SENT)
    open_ = statuses.count(Order.Status.OPEN) + statuses.count(Order.Status.PARTIAL)
    total = len(orders)
    account_statuses = {b["status"] for b in brokers}
    nothing_to_exit = total == 0 and execution.execution_type == Execution.Type.EXIT and not brokers
    if plan is not None and plan.error:
        status = Execution.Status.FAILED
    elif nothing_to_exit:
        status = Execution.Status.COMPLETED
    elif total and filled == total and account_statuses <= {"COMPLETED"}:
        status = Execution.Status.COMPLETED
    elif filled or open_ or unknown:
        status = Execution.Status.PARTIAL
    else:
        status = Execution.Status.FAILED
    premium = sum(
        ((o.average_price or 0) * o.filled_quantity * (1 if o.side == "SELL" else -1) for o in orders), Decimal(0)
    )
    execution.status = status
    execution.completed_at = timezone.now()
    execution.lease_expires_at = None
    execution.total_lots = sum(b["total_lots"] for b in brokers if b["status"] != "SKIPPED")
    execution.brokers_involved = [b["client_id"] for b in brokers]
    if plan is not None and plan.error:
        execution.error = plan.error
    elif nothing_to_exit:
        execution.error = "nothing to exit: the strategy holds no open positions"
    execution.execution_results = {
        "broker_executions": brokers,
        "successful_orders": filled,
        "failed_orders": failed,
        "unknown_orders": unknown,
        "open_orders": open_,
        "total_premium": float(premium),
        "execution_time_ms": round((time.monotonic() - started) * 1000),
    }
    alerts = []
    if status in (Execution.Status.FAILED, Execution.Status.PARTIAL):
        reasons = execution.error or "; ".join(
            f"{b['client_id']}: {b['reason'] or b['status']}" for b in brokers if b["status"] != "COMPLETED"
        )
        alerts.append(
            new_alert(
                execution, Alert.Kind.FAILED, f"{execution.strategy} {execution.execution_type} {status}: {reasons}"
            )
        )
    if unknown:
        alerts.append(
            new_alert(
                execution,
                Alert.Kind.UNKNOWN_ORDER,
                f"{unknown} order(s) of {execution.strategy} have an unknown outcome; reconciliation will look them up",
                severity="CRITICAL",
            )
        )
    return alerts


def _orders_of(executions) -> dict:
    by_execution: dict = {e.pk: [] for e in executions}
    for order in Order.objects.filter(execution_id__in=list(by_execution)).select_related(
        "broker_account", "instrument"
    ):
        by_execution[order.execution_id].append(order)
    return by_execution


def executions_finish(
    executions: list[Execution], plans: dict, started: float, orders: dict | None = None
) -> list[Execution]:
    """Final status, results and alerts of every execution in the batch: one read (none when the caller holds
    the orders as placed), one write, one insert."""
    if orders is None:
        orders = _orders_of(executions)
    alerts = []
    for execution in executions:
        alerts += _finish(execution, plans.get(execution.pk), orders.get(execution.pk, []), started)
    with transaction.atomic():
        bulk_update(executions, FINISH_FIELDS)
        Alert.objects.bulk_create(alerts)
    return executions


def _write_intents(planned: list[tuple[Execution, Plan]]) -> list[Order] | None:
    """Every order intent of the batch, in one bulk insert, before any broker call. Deterministic tags make a
    repeat a no-op. The planned per-leg results are stored with them, so a trader sees the plan at once.
    Returns the orders when every one of them is the stored row (none was there before), else None."""
    orders = [o for _, plan in planned for o in plan.orders]
    for execution, plan in planned:
        execution.total_legs = len({leg.leg_no for account in plan.accounts for leg in account.legs})
        execution.execution_results = {"broker_executions": _broker_results(execution, plan, plan.orders)}
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
            Order.objects.filter(pk=order.pk, status=Order.Status.UNKNOWN).update(
                status=Order.Status.CANCELLED,
                error=f"{order.error}; the broker has no order tagged {order.tag}: it was never placed",
            )
            resolved += 1
    return resolved
