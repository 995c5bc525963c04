"""The order lifecycle after placement: what happens while orders work at the broker.

Placement sends what can go at once and leaves an execution WORKING while any of its orders is not final. From
then on, `executions_advance` (every second from the feed loop, and on the minute tick, after an order sync
pass) moves each WORKING execution on:

- **Pairs.** A SELL waits for the BUYs of its execution and account on the same option type: on entry its own
  hedge (the long leg of that type), on exit the shorts being bought back before their hedge is sold. It is
  sent when they have all filled; no short ever goes out without the hedge it was planned with.
- **Chase.** A LIMIT order unfilled after its leg's `chase_after_seconds` is modified to the touch, up to
  `chase_max_modifies` times, then sent at MARKET with market protection (the touch ± `market_protection_pct`).
  A MARKET order still unfilled that long after has failed.
- **Failed entry.** A leg that cannot fill (rejected, cancelled, or failed its chase) triggers the strategy's
  `on_failed_entry` on that account: UNWIND (cancel every working order of the entry, then close what filled,
  at market) or KEEP (cancel the failed leg and the shorts it hedges, keep what filled, critical alert).
- **Exit.** An exit first cancels every working order of its strategy (`strategy_orders_cancel`), then closes
  the strategy's actual book; it is COMPLETED only when that book is flat, otherwise a critical alert names
  what is still open.

An execution is advanced by one caller at a time (a conditional UPDATE stamps a short lease), and every
order change goes through the state machine (`orders.py`)."""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from brokers.adapters.base import BrokerError, OrderResult, adapter_for
from config.db import bulk_insert
from market.contracts import slices
from market.quotes import is_stale, simulated_quote, view
from strategies.models import Leg, Strategy

from ..models import Alert, Execution, Order, OrderEvent, Position
from .alerts import alert_new
from .claims import broker_call, lease
from .orders import events_record, transition
from .plan import order_tag
from .sync import orders_sync, results_apply

log = logging.getLogger(__name__)
S = Order.Status
AT_BROKER = (S.OPEN, S.PARTIAL)  # working orders the broker can cancel or modify
NOT_FINAL = (S.PENDING, S.SENT, S.OPEN, S.PARTIAL, S.UNKNOWN)
_LEG_DEFAULTS = {f.name: f.default for f in Leg._meta.fields}


@dataclass(frozen=True)
class Policy:
    after: dt.timedelta
    modifies: int
    protection: Decimal  # percent


def policy_of(order: Order) -> Policy:
    """The chase policy of the order's leg (an order without one uses the leg defaults)."""
    leg = order.leg if order.leg_id else None
    values = {
        name: getattr(leg, name) if leg is not None else _LEG_DEFAULTS[name]
        for name in ("chase_after_seconds", "chase_max_modifies", "market_protection_pct")
    }
    return Policy(
        after=dt.timedelta(seconds=values["chase_after_seconds"]),
        modifies=values["chase_max_modifies"],
        protection=Decimal(values["market_protection_pct"]),
    )


def guards_of(order: Order, orders: list[Order]) -> list[Order]:
    """The orders `order` waits for: a SELL waits for the BUYs of its execution and account on the same option
    type (an unwind's SELLs for the unwind's BUYs). BUYs wait for nothing."""
    if order.side != "SELL":
        return []
    return [
        o
        for o in orders
        if o.side == "BUY"
        and o.execution_id == order.execution_id
        and o.broker_account_id == order.broker_account_id
        and o.unwind == order.unwind
        and o.instrument.option_type == order.instrument.option_type
    ]


def failed(order: Order) -> bool:
    """Final without having filled in full: this leg cannot complete."""
    return order.status in (S.REJECTED, S.CANCELLED) and order.filled_quantity < order.quantity


def ready(order: Order, orders: list[Order]) -> bool:
    """A PENDING order whose guards (if any) have all filled."""
    return order.status == S.PENDING and all(g.status == S.FILLED for g in guards_of(order, orders))


def _touch(order: Order, now: dt.datetime) -> Decimal | None:
    """The price that fills now: the ask to buy, the bid to sell; None while the feed is stale."""
    instrument = order.instrument
    stored = getattr(instrument, "quote", None)
    if stored is not None:
        if is_stale(stored.updated_at, now):
            return None
        quote = view(stored, now)
    else:
        quote = simulated_quote(instrument, now)  # no feed has ever priced it: the paper market model
        if quote is None:
            return None
    return quote.ask if order.side == "BUY" else quote.bid


def _tick_round(price: Decimal, tick: Decimal, *, up: bool) -> Decimal:
    steps = (price / tick).to_integral_value(rounding=ROUND_UP if up else ROUND_DOWN)
    return max(steps * tick, tick)


def protected(order: Order, touch: Decimal, policy: Policy) -> Decimal:
    """Market protection: the worst price a MARKET order accepts, the touch ± the leg's percent."""
    factor = policy.protection / 100
    if order.side == "BUY":
        return _tick_round(touch * (1 + factor), order.instrument.tick_size, up=True)
    return _tick_round(touch * (1 - factor), order.instrument.tick_size, up=False)


def market_changes(order: Order, touch: Decimal, policy: Policy) -> tuple[dict, str]:
    """The modify that sends a working LIMIT order at market with market protection, and the words that say so:
    the chase's last step and a trader's "go to market" (`order_actions.order_to_market`) both send this."""
    cap = protected(order, touch, policy)
    detail = f"at market, protected at {cap} (touch {touch} ± {policy.protection}%)"
    limit = order.limit_price if order.order_type == "LIMIT" else None
    # Never less willing than the order already was: a BUY resting above the touch keeps its limit as the cap.
    if limit is not None and (limit > cap if order.side == "BUY" else limit < cap):
        cap = limit
        detail = f"at market, protected at its limit {cap} (touch {touch} ± {policy.protection}% is less)"
    return {"order_type": "MARKET", "limit_price": cap}, detail


REFRESHED = ["status", "filled_quantity", "average_price", "broker_order_id", "quantity", "limit_price"]


def _record(pairs: list[tuple[Order, OrderResult]], *, source: str, details: dict | None = None) -> None:
    """Store broker answers to the lifecycle's own requests (cancel, modify) on the orders, locked and as the
    database has them now (order sync in another process may have moved them meanwhile)."""
    if not pairs:
        return
    with transaction.atomic():
        fresh = Order.objects.select_for_update().filter(pk__in=[o.pk for o, _ in pairs]).order_by("pk")
        current = {row.pk: row for row in fresh.only(*REFRESHED)}
        for order, _ in pairs:
            for name in REFRESHED:
                setattr(order, name, getattr(current[order.pk], name))
        results_apply(pairs, source=source, details=details)


def _cancel(broker, orders: list[Order], *, reason: str, now: dt.datetime) -> None:
    """Cancel working orders at the broker (each answer recorded) and PENDING ones here (never sent)."""
    answered, details = [], {}
    for order in orders:
        if order.status in AT_BROKER:
            try:
                answered.append((order, broker_call(broker.cancel_order, order.broker_order_id)))
                details[order.pk] = f"cancelled: {reason}"
            except BrokerError as exc:
                log.warning("cancel of %s refused: %s", order.tag, exc.message)
    _record(answered, source=OrderEvent.Source.PLACEMENT, details=details)
    from .placement import _not_sent

    _not_sent([o for o in orders if o.status == S.PENDING], f"not sent: {reason}")


def _send(broker, execution: Execution, orders: list[Order]) -> None:
    from .placement import _send_many

    _send_many(broker, orders, {execution.pk: execution.strategy.product})


def _chase(broker, orders: list[Order], now: dt.datetime) -> list[tuple[Order, str]]:
    """Modify the LIMIT orders that rested too long; returns the MARKET orders that failed their policy."""
    exhausted, answered, details, unmoved = [], [], {}, []
    for order in orders:
        if order.status not in AT_BROKER:
            continue
        policy = policy_of(order)
        since = order.chased_at or order.sent_at or order.created_at
        if now - since < policy.after:
            continue
        if order.order_type == "MARKET":
            waited = int((now - since).total_seconds())
            exhausted.append((order, f"unfilled {order.quantity - order.filled_quantity} at market after {waited} s"))
            continue
        touch = _touch(order, now)
        if touch is None:
            continue  # no fresh price to chase to: it rests until the feed recovers (the stale-feed alert says so)
        if order.chase_count < policy.modifies:
            changes = {"limit_price": touch}
            detail = f"chase {order.chase_count + 1}/{policy.modifies}: limit {order.limit_price} -> {touch} (touch)"
            if touch == order.limit_price:  # the touch has not moved: the step counts, the broker is not asked
                unmoved.append((order, f"chase {order.chase_count + 1}/{policy.modifies}: limit {touch} is the touch"))
                continue
        else:
            changes, why = market_changes(order, touch, policy)
            detail = f"chase: {why}"
        try:
            result = broker_call(broker.modify_order, order.broker_order_id, **changes)
        except BrokerError as exc:  # filled or cancelled meanwhile, or refused: the next sync tells
            log.info("modify of %s refused: %s", order.tag, exc.message)
            continue
        order.chase_count += 1
        order.chased_at = now
        order.order_type = changes.get("order_type", order.order_type)
        answered.append((order, result))
        details[order.pk] = detail
    _record(answered, source=OrderEvent.Source.CHASE, details=details)
    _chase_steps_record(unmoved, now)
    return exhausted


def _chase_steps_record(steps: list[tuple[Order, str]], now: dt.datetime) -> None:
    """Count chase steps that needed no broker call (the limit already is the touch), so that the policy still
    moves on to its next step and finally to market, with an event saying so on each order."""
    if not steps:
        return
    with transaction.atomic():
        fresh = Order.objects.select_for_update().filter(pk__in=[o.pk for o, _ in steps]).order_by("pk")
        current = {row.pk: row.status for row in fresh.only("status")}
        events = []
        for order, detail in steps:
            if current[order.pk] not in AT_BROKER:
                continue  # filled or cancelled meanwhile: the sync has recorded it
            order.status = current[order.pk]
            order.chase_count += 1
            order.chased_at = now
            Order.objects.filter(pk=order.pk).update(chase_count=order.chase_count, chased_at=now)
            events.append(transition(order, order.status, source=OrderEvent.Source.CHASE, at=now, detail=detail,
                                     record_unchanged=True))  # fmt: skip
        events_record(events)


def _notes(execution: Execution, client_id: str) -> dict:
    return execution.lifecycle.setdefault("accounts", {}).setdefault(client_id, {})


def _describe(order: Order, why: str = "") -> str:
    text = f"leg {order.leg_no} {order.side} {order.instrument.tradingsymbol}"
    return f"{text} ({why})" if why else text


def _unwind_orders(execution: Execution, account_orders: list[Order]) -> list[Order]:
    """Orders closing what the entry filled on the account, at market: shorts bought back before longs sold."""
    net: dict = {}
    for order in account_orders:
        if order.unwind:
            continue
        signed = order.filled_quantity if order.side == "BUY" else -order.filled_quantity
        net.setdefault(order.instrument_id, [order, 0])[1] += signed
    new, sequence = [], max((o.sequence for o in account_orders), default=0)
    for order, quantity in sorted(net.values(), key=lambda item: item[1]):  # shorts (negative) first
        if not quantity:
            continue
        instrument = order.instrument
        for slice_no, part in enumerate(
            slices(abs(quantity), lot_size=instrument.lot_size, freeze_quantity=instrument.freeze_quantity), 1
        ):
            sequence += 1
            new.append(
                Order(
                    execution=execution,
                    strategy_id=execution.strategy_id,
                    broker_account=order.broker_account,
                    leg_id=order.leg_id,
                    leg_no=order.leg_no,
                    instrument=instrument,
                    side="BUY" if quantity < 0 else "SELL",
                    lots=part // instrument.lot_size,
                    quantity=part,
                    order_type="MARKET",
                    tag=order_tag(execution.pk, order.broker_account_id, f"U{instrument.pk}", slice_no),
                    slice_no=slice_no,
                    sequence=sequence,
                    unwind=True,
                )
            )
    bulk_insert(new, ignore_conflicts=True)  # deterministic tags: a repeat writes nothing
    return list(
        Order.objects.filter(tag__in=[o.tag for o in new]).select_related("broker_account", "instrument__quote", "leg")
    )


def _failed_entry(execution, broker, account, orders, failures, now) -> list[Alert]:
    """Apply the strategy's on_failed_entry to one account of an entry whose leg(s) cannot fill."""
    notes = _notes(execution, account.client_id)
    alerts = []
    strategy = execution.strategy
    if not notes.get("action"):
        reason = "; ".join(_describe(o, why) for o, why in failures)
        notes.update(action=strategy.on_failed_entry, reason=reason, phase="cancelling", at=now.isoformat())
        if strategy.on_failed_entry == Strategy.OnFailedEntry.KEEP:
            failing = {o.pk for o, _ in failures}
            waiting = [
                o for o in orders if o.status == S.PENDING and any(g.pk in failing for g in guards_of(o, orders))
            ]
            _cancel(broker, [o for o, _ in failures] + waiting, reason=f"entry leg failed, kept ({reason})", now=now)
            filled = ", ".join(_describe(o) for o in orders if o.filled_quantity) or "nothing"
            notes["phase"] = "kept"
            alerts.append(
                alert_new(
                    execution=execution,
                    kind=Alert.Kind.FAILED,
                    message=f"{strategy} ENTRY on {account.client_id}: {reason}. on_failed_entry KEEP: kept {filled}; "
                    "the shorts that leg hedges were not sent. Review the book.",
                    account=account,
                    severity="CRITICAL",
                )
            )
            return alerts
        _cancel(broker, [o for o in orders if o.status in (S.PENDING, *AT_BROKER)], reason=f"entry unwound ({reason})",
                now=now)  # fmt: skip
    if notes.get("phase") == "cancelling":
        if any(o.status in NOT_FINAL for o in orders if not o.unwind):
            return alerts  # an order of unknown outcome is still being looked up: close only what is known
        unwind = _unwind_orders(execution, orders)
        orders.extend(o for o in unwind if o.pk not in {x.pk for x in orders})
        notes["phase"] = "closing"
        alerts.append(
            alert_new(
                execution=execution,
                kind=Alert.Kind.FAILED,
                message=f"{strategy} ENTRY on {account.client_id} could not complete ({notes['reason']}): unwinding, "
                f"closing {len(unwind)} order(s) at market",
                account=account,
                severity="WARNING",
            )
        )
    return alerts


def _unwind_failures(execution, broker, account, orders, now) -> list[Alert]:
    """An unwind order that could not close (rejected, or never placed): the hedges its short still needs are
    not sold, and a critical alert names what the account still holds. Nothing is resent blindly."""
    broken = [o for o in orders if o.unwind and failed(o)]
    if not broken:
        return []
    blocked = [o for o in orders if o.status == S.PENDING and any(failed(g) for g in guards_of(o, orders))]
    _cancel(broker, blocked, reason="the short it hedges could not be bought back", now=now)
    notes = _notes(execution, account.client_id)
    notes["phase"] = "unwind failed"
    held: dict = {}
    for order in orders:
        signed = order.filled_quantity if order.side == "BUY" else -order.filled_quantity
        held[order.instrument.tradingsymbol] = held.get(order.instrument.tradingsymbol, 0) + signed
    still_open = ", ".join(f"{symbol} {quantity:+d}" for symbol, quantity in sorted(held.items()) if quantity)
    notes["still_open"] = still_open
    why = "; ".join(_describe(o, o.error or o.status) for o in broken)
    return [
        alert_new(
            execution=execution,
            kind=Alert.Kind.FAILED,
            message=f"{execution.strategy} ENTRY on {account.client_id}: the unwind could not close ({why}). "
            f"still open: {still_open or 'nothing'}. Close it with an exit or at the broker.",
            account=account,
            severity="CRITICAL",
        )
    ]


def _after_exit(execution, broker, account, orders, now) -> list[Alert]:
    """An exit took over this strategy: nothing more is sent, chased or unwound. An order whose outcome was not
    known when the exit cancelled (SENT or UNKNOWN) and that turns up working at the broker later is cancelled
    then; anything that filled after the exit closed the book raises a critical alert naming it."""
    exit_id = execution.lifecycle["cancelled_by"]
    late_working = [o for o in orders if o.status in AT_BROKER]
    if late_working:
        _cancel(broker, late_working, reason=f"exit {exit_id} took over the strategy", now=now)
    notes = _notes(execution, account.client_id)
    if notes.get("late_fills_alerted") or any(o.status in NOT_FINAL for o in orders):
        return []
    at_exit = execution.lifecycle.get("filled_at_exit", {})
    late = [
        (o, o.filled_quantity - at_exit[str(o.pk)])
        for o in orders
        if str(o.pk) in at_exit and o.filled_quantity > at_exit[str(o.pk)]
    ]
    if not late:
        return []
    notes["late_fills_alerted"] = True
    what = ", ".join(f"{o.side} {quantity} {o.instrument.tradingsymbol}" for o, quantity in late)
    return [
        alert_new(
            execution=execution,
            kind=Alert.Kind.FAILED,
            message=f"{execution.strategy} {execution.execution_type} on {account.client_id}: filled after exit "
            f"{exit_id} had closed the book: {what}. The strategy holds them: run another exit or close them at "
            "the broker.",
            account=account,
            severity="CRITICAL",
        )
    ]


def _advance_account(execution: Execution, account, orders: list[Order], now: dt.datetime) -> list[Alert]:
    broker = adapter_for(account)
    alerts: list[Alert] = []
    notes = _notes(execution, account.client_id)
    if execution.lifecycle.get("cancelled_by"):
        return _after_exit(execution, broker, account, orders, now)
    exhausted = _chase(broker, orders, now)
    entry = execution.execution_type == Execution.Type.ENTRY
    if exhausted:
        if entry and not notes.get("action"):
            pass  # cancelled by the failed-entry handling below, together with the rest
        else:
            _cancel(broker, [o for o, _ in exhausted], reason="failed its chase policy", now=now)
    failures = [(o, o.error or o.status) for o in orders if failed(o) and not o.unwind] + [
        (o, why) for o, why in exhausted if not o.unwind
    ]
    # An unguarded order still PENDING after placement (its account failed mid-way) is never sent late.
    stranded = [o for o in orders if o.status == S.PENDING and not o.unwind and not guards_of(o, orders)]
    if stranded:
        _cancel(broker, stranded, reason="its account's placement did not complete", now=now)
        failures += [(o, "not sent") for o in stranded]
    if (
        entry
        and (failures or notes.get("phase") == "cancelling")
        and notes.get("phase") not in ("closing", "kept", "unwind failed")
    ):
        alerts += _failed_entry(execution, broker, account, orders, failures, now)
    elif not entry:
        # An exit never sells a hedge while the short it covers could not be bought back.
        blocked = [o for o in orders if o.status == S.PENDING and any(failed(g) for g in guards_of(o, orders))]
        if blocked:
            _cancel(broker, blocked, reason="the short it hedges could not be bought back", now=now)
    if notes.get("phase") == "kept":
        blocked = [o for o in orders if o.status == S.PENDING and any(failed(g) for g in guards_of(o, orders))]
        if blocked:
            _cancel(broker, blocked, reason="its hedge did not fill (KEEP)", now=now)
    if entry and notes.get("phase") == "closing":
        alerts += _unwind_failures(execution, broker, account, orders, now)
    send = [o for o in orders if ready(o, orders) and (o.unwind or guards_of(o, orders) or not entry)]
    if send:
        _send(broker, execution, send)
    return alerts


def execution_advance(execution_id, *, now: dt.datetime | None = None) -> Execution | None:
    """One step of a WORKING execution (see the module docstring). None when another caller holds it or it is
    no longer WORKING. Each account is advanced on its own: one account's broker failing skips that account."""
    now = now or timezone.now()
    token = uuid.uuid4()
    free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    if not Execution.objects.filter(free, pk=execution_id, status=Execution.Status.WORKING).update(
        lease_expires_at=now + lease(), claim_token=token
    ):
        return None
    execution = Execution.objects.select_related("strategy").get(pk=execution_id)
    orders = list(
        Order.objects.filter(execution=execution).select_related("broker_account", "instrument__quote", "leg")
    )
    by_account: dict = {}
    for order in orders:
        by_account.setdefault(order.broker_account_id, []).append(order)
    alerts = []
    for account_orders in by_account.values():
        account = account_orders[0].broker_account
        try:
            alerts += _advance_account(execution, account, account_orders, now)
        except Exception:  # a broker or a bug on one account: the others go on; the next pass retries
            log.exception("advancing %s on %s failed", execution_id, account.client_id)
    Alert.objects.bulk_create(alerts)
    mine = Execution.objects.filter(pk=execution_id, claim_token=token)
    mine.update(lifecycle=execution.lifecycle, lease_expires_at=None)
    if any(o.status in NOT_FINAL for o in Order.objects.filter(execution=execution).only("status")):
        return execution
    return execution_settle(execution, token)


def execution_settle(execution: Execution, token) -> Execution:
    """Every order is final: the execution's status, results and alerts, from its orders and (for an exit) its
    book. An unwound entry is FAILED (PARTIAL when other accounts completed); an exit is COMPLETED only flat.
    Only the holder of the advance claim (`token`) settles it."""
    from .results import executions_finish

    # Back under the claim that finishing requires; finish recomputes the status from the orders.
    if Execution.objects.filter(pk=execution.pk, status=Execution.Status.WORKING, claim_token=token).update(
        status=Execution.Status.IN_PROGRESS
    ):
        execution.status, execution.claim_token = Execution.Status.IN_PROGRESS, token
        executions_finish([execution], {}, time.monotonic())
    return execution


def finish_notes(execution: Execution, orders: list[Order], status: str, open_lines: list[str]) -> tuple[str, str]:
    """(status, error) adjusted for what the lifecycle did: unwound accounts, exits not flat."""
    accounts = execution.lifecycle.get("accounts", {})
    unwound = {c: n for c, n in accounts.items() if n.get("action") == Strategy.OnFailedEntry.UNWIND}
    kept = {c: n for c, n in accounts.items() if n.get("action") == Strategy.OnFailedEntry.KEEP}
    messages = []
    if execution.lifecycle.get("cancelled_by"):
        messages.append(f"working orders cancelled by exit {execution.lifecycle['cancelled_by']}")
    for client_id, note in unwound.items():
        messages.append(f"{client_id}: entry unwound ({note['reason']})")
        if note.get("phase") == "unwind failed":
            messages.append(
                f"{client_id}: the unwind could not close, still open: {note.get('still_open') or 'nothing'}"
            )
    for client_id, note in kept.items():
        messages.append(f"{client_id}: failed leg kept ({note['reason']})")
    if unwound and status not in (Execution.Status.WORKING,):
        involved = {o.broker_account.client_id for o in orders}
        status = Execution.Status.FAILED if involved <= set(unwound) else Execution.Status.PARTIAL
    if kept and status == Execution.Status.COMPLETED:
        status = Execution.Status.PARTIAL
    cancelled = execution.lifecycle.get("cancelled_first")
    if cancelled:
        messages.append(f"cancelled {cancelled} working order(s) of the strategy first")
    if open_lines and status == Execution.Status.COMPLETED:
        status = Execution.Status.PARTIAL
    if open_lines:
        messages.append("still open: " + ", ".join(open_lines))
    return status, "; ".join(messages)


def exits_open(executions: list[Execution]) -> dict:
    """For each exit: what its strategy still holds (within the exit's scope), as lines a trader reads. One
    query for all of them."""
    exits = [e for e in executions if e.execution_type == Execution.Type.EXIT]
    if not exits:
        return {}
    held: dict = {}
    for position in (
        Position.objects.filter(strategy_id__in={e.strategy_id for e in exits})
        .exclude(net_quantity=0)
        .select_related("broker_account", "instrument")
    ):
        held.setdefault(position.strategy_id, []).append(position)
    result = {}
    for execution in exits:
        scope = {str(pk) for pk in execution.scope.get("positions", [])}
        lines = [
            f"{p.broker_account.client_id} {p.instrument.tradingsymbol} {p.net_quantity:+d}"
            for p in held.get(execution.strategy_id, [])
            if not scope or str(p.pk) in scope
        ]
        result[execution.pk] = lines
    return result


def strategy_orders_cancel(*, executions: list[Execution], now: dt.datetime) -> None:
    """Before an exit is planned: sync the strategy's accounts (late fills are booked), then cancel every
    working order of the strategy in other executions, so that the exit closes the actual book and nothing
    opens behind it. A monitor's scoped exit cancels only orders on the contracts it closes."""
    exits = [e for e in executions if e.execution_type == Execution.Type.EXIT]
    if not exits:
        return
    working = list(
        Order.objects.filter(strategy_id__in={e.strategy_id for e in exits}, status__in=NOT_FINAL)
        .exclude(execution_id__in=[e.pk for e in exits])
        .select_related("broker_account", "instrument", "execution")
    )
    if not working:
        return
    accounts = {o.broker_account_id: o.broker_account for o in working}
    for account in accounts.values():
        try:
            orders_sync(account=account)
        except Exception:  # the cancels below still go; reconciliation books what this missed
            log.exception("order sync before an exit failed for %s", account.client_id)
    for exit_ in exits:
        mine = [o for o in working if o.strategy_id == exit_.strategy_id]
        if exit_.scope.get("positions"):
            scoped = set(
                Position.objects.filter(pk__in=exit_.scope["positions"]).values_list(
                    "broker_account_id", "instrument_id"
                )
            )
            mine = [o for o in mine if (o.broker_account_id, o.instrument_id) in scoped]
        if not mine:
            continue
        for order in mine:
            order.refresh_from_db(fields=["status", "filled_quantity", "broker_order_id", "quantity"])
        cancelled = 0
        for account_id in {o.broker_account_id for o in mine}:
            account_orders = [o for o in mine if o.broker_account_id == account_id]
            before = sum(o.status in (S.PENDING, *AT_BROKER) for o in account_orders)
            try:
                _cancel(adapter_for(accounts[account_id]), account_orders, reason=f"exit {exit_.pk}", now=now)
            except Exception:
                log.exception("cancelling before exit %s failed", exit_.pk)
                continue
            cancelled += before
        for execution_id in {o.execution_id for o in mine}:
            other = Execution.objects.get(pk=execution_id)
            other.lifecycle["cancelled_by"] = str(exit_.pk)
            # What had filled when the exit took its book: a fill after this is one the exit did not close.
            other.lifecycle["filled_at_exit"] = {
                str(o.pk): o.filled_quantity for o in mine if o.execution_id == execution_id
            }
            Execution.objects.filter(pk=execution_id).update(lifecycle=other.lifecycle)
        exit_.lifecycle["cancelled_first"] = cancelled
        Execution.objects.filter(pk=exit_.pk).update(lifecycle=exit_.lifecycle)


def executions_advance(*, now: dt.datetime | None = None) -> int:
    """One chase pass: advance every WORKING execution once. Returns how many it advanced."""
    advanced = 0
    for execution_id in Execution.objects.filter(status=Execution.Status.WORKING).values_list("pk", flat=True):
        try:
            if execution_advance(execution_id, now=now) is not None:
                advanced += 1
        except Exception:  # a bug in one execution must not stop the others
            log.exception("advancing execution %s failed", execution_id)
    return advanced


def orders_work(*, now: dt.datetime | None = None) -> None:
    """What the feed loop runs every second and the minute tick once: a sync pass, then a chase pass. Nothing
    but two indexed EXISTS queries when no order and no execution works."""
    from .sync import orders_sync_all

    if Order.objects.filter(status__in=NOT_FINAL).exists():
        orders_sync_all()
    elif not Execution.objects.filter(status=Execution.Status.WORKING).exists():
        return
    # Also when every order is final: reconciliation may have settled the last one; the execution settles here.
    executions_advance(now=now)
