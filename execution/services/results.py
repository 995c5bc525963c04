"""Results: the broker's answers stored on the orders (and their fills in the books), and each execution's
final status, per-broker per-leg results and alerts (`executions_finish`)."""

from __future__ import annotations

import time
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from brokers.adapters.base import OrderResult
from config.db import bulk_update
from config.money import exact

from ..models import Alert, Execution, Order
from .alerts import alert_new
from .claims import claimed
from .orders import events_record, transition
from .plan import Plan
from .sync import results_apply


def answers_record(answered: list[tuple[Order, OrderResult]], *, source: str = "placement") -> None:
    """Store the broker's answers on the orders (each change an order event) and their fills in the
    strategies' books, in one transaction."""
    if not answered:
        return
    with transaction.atomic():
        results_apply(answered, source=source)


FAILURE_FIELDS = ["status", "error", "updated_at"]


def answers_store(
    *,
    answered: list[tuple[Order, OrderResult]],
    failed: list[tuple[Order, str, str]],
    held: Q,
    source: str = "placement",
) -> list[Order]:
    """Store a broker call's outcome, in one transaction, on the orders that still match `held` (the writer's
    claim: the send token it stamped and the state it left them in): the broker's answers with their fills,
    and the failures, each `(order, status, error)`; every change an order event. An order that no longer
    matches belongs to another writer now and is not touched; it is returned, refreshed from the database."""
    orders = [order for order, _ in answered] + [order for order, _, _ in failed]
    if not orders:
        return []
    with transaction.atomic():
        mine = set(
            Order.objects.select_for_update()
            .filter(held, pk__in=[order.pk for order in orders])
            .values_list("pk", flat=True)
        )
        answers_record([(order, result) for order, result in answered if order.pk in mine], source=source)
        now, changed, events = timezone.now(), [], []
        for order, to, error in failed:
            if order.pk in mine:
                events.append(transition(order, to, source=source, at=now, detail=error))
                order.error = error
                changed.append(order)
        bulk_update(changed, FAILURE_FIELDS)
        events_record(events)
    lost = [order for order in orders if order.pk not in mine]
    for order in lost:
        order.refresh_from_db()
    return lost


WORKING_STATUSES = frozenset(
    {Order.Status.PENDING, Order.Status.SENT, Order.Status.OPEN, Order.Status.PARTIAL, Order.Status.UNKNOWN}
)


def broker_results(execution: Execution, plan: Plan | None, orders: list[Order]) -> list[dict]:
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
                    "multiplier_applied": exact(result.multiplier_applied)
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
        elif any(o.status in WORKING_STATUSES for o in account_orders):
            account_status = "WORKING"  # its orders are still working: neither failed nor complete yet
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
                "lot_multiplier": exact(allocation.strategy_lots_multiplier)
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


def _execution_ms(execution: Execution, started: float, working: bool) -> int:
    """From the start of the run to its completion. A run that worked (orders resting, chased, settled by the
    lifecycle later) counts from its start to now; one that finished in its first attempt, that attempt's
    time."""
    attempt = round((time.monotonic() - started) * 1000)
    if working or execution.started_at is None:
        return attempt
    elapsed = round((timezone.now() - execution.started_at).total_seconds() * 1000)
    return max(attempt, elapsed)


FINISH_FIELDS = [
    "status",
    "completed_at",
    "lease_expires_at",
    "total_lots",
    "brokers_involved",
    "error",
    "execution_results",
]


def _finish(
    execution: Execution, plan: Plan | None, orders: list[Order], started: float, open_lines: list[str]
) -> list[Alert]:
    """Set the execution's status and results from its orders; returns the alerts it raises. While any order
    is not final the execution is WORKING (the order lifecycle settles it); an exit whose book is not flat is
    PARTIAL with a critical alert naming what is still open (`open_lines`)."""
    from .lifecycle import NOT_FINAL, finish_notes

    brokers = broker_results(execution, plan, orders)
    statuses = [o.status for o in orders]
    filled = statuses.count(Order.Status.FILLED)
    failed = statuses.count(Order.Status.REJECTED) + statuses.count(Order.Status.CANCELLED)
    unknown = statuses.count(Order.Status.UNKNOWN) + statuses.count(Order.Status.SENT)
    open_ = statuses.count(Order.Status.OPEN) + statuses.count(Order.Status.PARTIAL)
    total = len(orders)
    account_statuses = {b["status"] for b in brokers}
    nothing_to_exit = total == 0 and execution.execution_type == Execution.Type.EXIT and not brokers
    working = any(o.status in NOT_FINAL for o in orders)
    if plan is not None and plan.error:
        status = Execution.Status.FAILED
    elif working:
        status = Execution.Status.WORKING
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
    status, notes = finish_notes(execution, orders, status, [] if working else open_lines)
    execution.status = status
    execution.completed_at = None if working else timezone.now()
    execution.lease_expires_at = None
    execution.total_lots = sum(b["total_lots"] for b in brokers if b["status"] != "SKIPPED")
    execution.brokers_involved = [b["client_id"] for b in brokers]
    if plan is not None and plan.error:
        execution.error = plan.error
    elif nothing_to_exit:
        execution.error = "nothing to exit: the strategy holds no open positions"
        if execution.lifecycle.get("cancelled_first"):
            execution.error = "nothing to exit: no working order of the strategy had filled"
    if notes:
        execution.error = f"{execution.error}; {notes}" if execution.error else notes
    previous_results = execution.execution_results
    execution.execution_results = {
        "broker_executions": brokers,
        "successful_orders": filled,
        "failed_orders": failed,
        "unknown_orders": unknown,
        "open_orders": open_,
        "total_premium": exact(premium),
        "execution_time_ms": _execution_ms(execution, started, working),
    }
    if "placement_time_ms" in (previous_results or {}) or working:
        # The first attempt's own placement time, kept when a working execution settles later.
        execution.execution_results["placement_time_ms"] = (previous_results or {}).get(
            "placement_time_ms", execution.execution_results["execution_time_ms"]
        )
    alerts = []
    if status in (Execution.Status.FAILED, Execution.Status.PARTIAL):
        reasons = execution.error or "; ".join(
            f"{b['client_id']}: {b['reason'] or b['status']}" for b in brokers if b["status"] != "COMPLETED"
        )
        not_flat = bool(open_lines) and not working  # an exit that left positions open: act now
        alerts.append(
            alert_new(
                execution=execution,
                kind=Alert.Kind.FAILED,
                message=f"{execution.strategy} {execution.execution_type} {status}: {reasons}"
                + (
                    ". The book is not flat: close what is still open by hand or run the exit again."
                    if not_flat
                    else ""
                ),
                severity=Alert.Severity.CRITICAL if not_flat else Alert.Severity.WARNING,
            )
        )
    if unknown:
        alerts.append(
            alert_new(
                execution=execution,
                kind=Alert.Kind.UNKNOWN_ORDER,
                message=f"{unknown} order(s) of {execution.strategy} have an unknown outcome; reconciliation will look them up",
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
    """Final status, results and alerts of every execution in the batch that this worker still holds (its
    claim token is on the row and it is IN_PROGRESS): a worker that lost its claim writes nothing. One lock,
    one read (none when the caller holds the orders as placed), one write, one insert. Returns the
    executions it finished."""
    from .lifecycle import exits_open

    if not executions:
        return []
    with transaction.atomic():
        held = set(Execution.objects.select_for_update().filter(claimed(executions)).values_list("pk", flat=True))
        executions = [e for e in executions if e.pk in held]
        if orders is None:
            orders = _orders_of(executions)
        open_lines = exits_open(executions)
        alerts = []
        for execution in executions:
            alerts += _finish(
                execution,
                plans.get(execution.pk),
                orders.get(execution.pk, []),
                started,
                open_lines.get(execution.pk, []),
            )
        bulk_update(executions, FINISH_FIELDS)
        Alert.objects.bulk_create(alerts)
    return executions
