"""run_execution: claim exactly once, write every order intent before any broker call, place per account in
parallel, never retry blindly, and finish with per-broker, per-leg results."""

from __future__ import annotations

import datetime as dt
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from brokers.adapters.base import BrokerError, BrokerTimeout, OrderRequest, OrderResult, adapter_for
from brokers.models import BrokerAccount

from ..models import Alert, Execution, Order
from . import books
from .plan import Plan, plan_entry, plan_exit

log = logging.getLogger(__name__)

DONE = {Order.Status.FILLED, Order.Status.REJECTED, Order.Status.CANCELLED}
LEASE = dt.timedelta(seconds=getattr(settings, "EXECUTION_LEASE_SECONDS", 30))


def alert(execution: Execution, kind: str, message: str, *, account=None, severity="WARNING") -> None:
    Alert.objects.create(
        owner_id=execution.strategy.owner_id,
        kind=kind,
        severity=severity,
        message=message,
        strategy_id=execution.strategy_id,
        execution=execution,
        broker_account=account,
    )


def execution_claim(execution_id, *, now: dt.datetime) -> Execution | None:
    """Take the execution for this worker, or None when another has it or it is finished.

    A SCHEDULED execution is claimed with a conditional UPDATE (exactly one claimant wins). A scheduled one
    claimed later than the lateness budget becomes MISSED instead. An IN_PROGRESS execution whose lease has
    expired (its worker died) is resumed."""
    budget = dt.timedelta(seconds=settings.EXECUTION_LATENESS_BUDGET_SECONDS)
    lease = now + LEASE
    claimed = Execution.objects.filter(pk=execution_id, status=Execution.Status.SCHEDULED)
    late = claimed.filter(trigger=Execution.Trigger.SCHEDULED, due_at__lt=now - budget)
    if late.update(status=Execution.Status.MISSED, completed_at=now, error="claimed after the lateness budget"):
        execution = Execution.objects.select_related("strategy").get(pk=execution_id)
        lateness = (now - execution.due_at).total_seconds()
        message = (
            f"{execution.strategy} {execution.execution_type} due {execution.due_at:%H:%M:%S} UTC was not started: "
            f"{lateness:.0f} s late, beyond the {budget.seconds} s budget. Nothing was traded; act manually if needed."
        )
        Execution.objects.filter(pk=execution_id).update(error=message)
        alert(execution, Alert.Kind.MISSED, message, severity="CRITICAL")
        return None
    fresh = claimed.update(status=Execution.Status.IN_PROGRESS, started_at=now, lease_expires_at=lease, attempts=1)
    if not fresh:
        resumed = Execution.objects.filter(
            pk=execution_id, status=Execution.Status.IN_PROGRESS, lease_expires_at__lt=now
        ).update(lease_expires_at=lease, attempts=F("attempts") + 1)
        if not resumed:
            return None
    return Execution.objects.select_related("strategy", "strategy__basket").get(pk=execution_id)


_lease_renewed: dict = {}


def _renew_lease(execution_id) -> None:
    """Extend the lease at most every third of its length: enough to keep it, without a write per order."""
    now = timezone.now()
    if now - _lease_renewed.get(execution_id, dt.datetime.min.replace(tzinfo=dt.UTC)) < LEASE / 3:
        return
    _lease_renewed[execution_id] = now
    Execution.objects.filter(pk=execution_id, status=Execution.Status.IN_PROGRESS).update(lease_expires_at=now + LEASE)


def _record(order: Order, result: OrderResult) -> None:
    """Store the broker's answer on the order and its fills in the strategy's book."""
    status = {
        "FILLED": Order.Status.FILLED,
        "PARTIAL": Order.Status.PARTIAL,
        "OPEN": Order.Status.OPEN,
        "REJECTED": Order.Status.REJECTED,
        "CANCELLED": Order.Status.CANCELLED,
    }[result.status]
    with transaction.atomic():
        for fill in result.fills:
            books.fill_record(order=order, fill_id=fill.fill_id, quantity=fill.quantity, price=fill.price, at=fill.at)
        order.status = status
        order.broker_order_id = result.broker_order_id
        order.filled_quantity = result.filled_quantity
        order.average_price = result.average_price
        order.error = result.message if status == Order.Status.REJECTED else ""
        order.save(
            update_fields=["status", "broker_order_id", "filled_quantity", "average_price", "error", "updated_at"]
        )


def _send(broker, order: Order, product: str) -> None:
    """Place one order whose intent is stored. SENT is committed before the call, so a crash in between is
    found by reconciliation instead of being sent again."""
    now = timezone.now()
    taken = Order.objects.filter(pk=order.pk, status=Order.Status.PENDING).update(status=Order.Status.SENT, sent_at=now)
    if not taken:  # another placer (a resumed attempt) has this order: never send it twice
        order.refresh_from_db()
        return
    order.status, order.sent_at = Order.Status.SENT, now
    request = OrderRequest(
        tag=order.tag,
        instrument_id=order.instrument_id,
        exchange=order.instrument.exchange,
        tradingsymbol=order.instrument.tradingsymbol,
        side=order.side,
        quantity=order.quantity,
        order_type=order.order_type,
        limit_price=order.limit_price,
        product=product,
    )
    try:
        result = broker.place_order(request)
    except BrokerTimeout as exc:
        order.status, order.error = Order.Status.UNKNOWN, exc.message
        order.save(update_fields=["status", "error", "updated_at"])
        return
    except BrokerError as exc:
        order.status, order.error = Order.Status.REJECTED, exc.message
        order.save(update_fields=["status", "error", "updated_at"])
        return
    _record(order, result)


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
    _record(order, result)
    return True


def _place_account(execution_id, account_id, product: str) -> None:
    """Place one account's orders in sequence. The second group (SELLs on entry, longs on exit) goes only
    when every order of the first group filled: a short is never left without its hedge."""
    try:
        account = BrokerAccount.objects.get(pk=account_id)
        broker = adapter_for(account)
        orders = list(
            Order.objects.filter(execution_id=execution_id, broker_account_id=account_id)
            .select_related("instrument")
            .order_by("sequence")
        )
        first_side = orders[0].side if orders else "BUY"
        first_group_ok = True
        for order in orders:
            if order.side != first_side and not first_group_ok:
                if order.status == Order.Status.PENDING:
                    order.status = Order.Status.CANCELLED
                    order.error = "not sent: an order of the hedge group before it did not fill"
                    order.save(update_fields=["status", "error", "updated_at"])
                continue
            if order.status in (Order.Status.SENT, Order.Status.UNKNOWN):
                if not order_reconcile(broker, order) and order.status == Order.Status.SENT:
                    # The broker has no order with this tag: the earlier attempt never reached it, so sending
                    # it now is the first send, not a retry.
                    if Order.objects.filter(pk=order.pk, status=Order.Status.SENT).update(status=Order.Status.PENDING):
                        order.status = Order.Status.PENDING
            if order.status == Order.Status.PENDING:
                _send(broker, order, product)
                _renew_lease(execution_id)
            if order.side == first_side and order.status != Order.Status.FILLED:
                first_group_ok = False
    except Exception:  # a bug or an unreachable broker: leave the orders as they are, reconcile later
        log.exception("placing orders of execution %s, account %s failed", execution_id, account_id)
        raise


def _place_account_in_thread(execution_id, account_id, product: str) -> None:
    try:
        _place_account(execution_id, account_id, product)
    finally:
        connection.close()  # each placement thread has its own connection


def _broker_results(execution: Execution, plan: Plan | None) -> list[dict]:
    orders = list(
        Order.objects.filter(execution=execution)
        .select_related("broker_account", "instrument")
        .order_by("broker_account__client_id", "sequence")
    )
    by_account: dict = {}
    for order in orders:
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


def execution_finish(execution: Execution, plan: Plan | None, started: float) -> Execution:
    brokers = _broker_results(execution, plan)
    rows = list(
        Order.objects.filter(execution=execution).values_list("status", "side", "average_price", "filled_quantity")
    )
    statuses = [row[0] for row in rows]
    filled = statuses.count(Order.Status.FILLED)
    failed = statuses.count(Order.Status.REJECTED) + statuses.count(Order.Status.CANCELLED)
    unknown = statuses.count(Order.Status.UNKNOWN) + statuses.count(Order.Status.SENT)
    open_ = statuses.count(Order.Status.OPEN) + statuses.count(Order.Status.PARTIAL)
    total = len(rows)
    account_statuses = {b["status"] for b in brokers}
    if plan is not None and plan.error:
        status = Execution.Status.FAILED
    elif total == 0 and execution.execution_type == Execution.Type.EXIT and not brokers:
        status = Execution.Status.COMPLETED
    elif total and filled == total and account_statuses <= {"COMPLETED"}:
        status = Execution.Status.COMPLETED
    elif filled or open_ or unknown:
        status = Execution.Status.PARTIAL
    else:
        status = Execution.Status.FAILED
    premium = sum(
        ((price or 0) * quantity * (1 if side == "SELL" else -1) for _, side, price, quantity in rows), Decimal(0)
    )
    execution.status = status
    execution.completed_at = timezone.now()
    execution.lease_expires_at = None
    _lease_renewed.pop(execution.pk, None)
    execution.total_lots = sum(b["total_lots"] for b in brokers if b["status"] != "SKIPPED")
    execution.brokers_involved = [b["client_id"] for b in brokers]
    if plan is not None and plan.error:
        execution.error = plan.error
    elif total == 0 and execution.execution_type == Execution.Type.EXIT and not brokers:
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
    execution.save()
    if status in (Execution.Status.FAILED, Execution.Status.PARTIAL):
        reasons = execution.error or "; ".join(
            f"{b['client_id']}: {b['reason'] or b['status']}" for b in brokers if b["status"] != "COMPLETED"
        )
        alert(execution, Alert.Kind.FAILED, f"{execution.strategy} {execution.execution_type} {status}: {reasons}")
    if unknown:
        alert(
            execution,
            Alert.Kind.UNKNOWN_ORDER,
            f"{unknown} order(s) of {execution.strategy} have an unknown outcome; reconciliation will look them up",
            severity="CRITICAL",
        )
    return execution


def _write_intents(execution: Execution, plan: Plan) -> None:
    """Every order intent, in one bulk insert, before any broker call. Deterministic tags make a repeat a no-op."""
    Order.objects.bulk_create(plan.orders, ignore_conflicts=True)
    execution.total_legs = len({leg.leg_no for account in plan.accounts for leg in account.legs})
    execution.execution_results = {"broker_executions": _broker_results(execution, plan)}
    execution.save(update_fields=["total_legs", "execution_results"])


def execution_run(execution_id, *, now: dt.datetime | None = None) -> Execution | None:
    """Claim, plan (first attempt only), write intents, place in parallel, finish. Safe to call any number of
    times concurrently for the same id: only one caller places orders."""
    started = time.monotonic()
    now = now or timezone.now()
    execution = execution_claim(execution_id, now=now)
    if execution is None:
        return None
    plan = None
    if not Order.objects.filter(execution=execution).exists():  # a resume keeps the intents already written
        plan = (
            plan_entry(execution, now)
            if execution.execution_type == Execution.Type.ENTRY
            else plan_exit(execution, now)
        )
        if plan.error:
            return execution_finish(execution, plan, started)
        _write_intents(execution, plan)
    account_ids = list(
        Order.objects.filter(execution=execution)
        .order_by("broker_account_id")  # without this the model's ordering leaks into DISTINCT
        .values_list("broker_account_id", flat=True)
        .distinct()
    )
    product = execution.strategy.product
    workers = min(len(account_ids), getattr(settings, "EXECUTION_ACCOUNT_THREADS", 8))
    if workers > 1 and getattr(settings, "EXECUTION_PARALLEL_ACCOUNTS", True):
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="place") as pool:
            futures = [
                pool.submit(_place_account_in_thread, execution.pk, account_id, product) for account_id in account_ids
            ]
            errors = [f.exception() for f in futures if f.exception() is not None]
    else:
        errors = []
        for account_id in account_ids:
            try:
                _place_account(execution.pk, account_id, product)
            except Exception as exc:  # recorded below; the other accounts still go
                errors.append(exc)
    if errors:
        execution.error = "; ".join(str(e) for e in errors)
    return execution_finish(execution, plan, started)


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
    adapters = {}
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
