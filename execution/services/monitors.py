"""Checks run on the minute tick (and may run on each feed cycle): stop-losses, daily loss limits, MIS
square-off, reconciliation with the broker, stale feed, the kill switch, executions left behind.

A monitor never trades by itself: it creates an EXIT execution (trigger MONITOR) scoped to the positions
that caused it, with a dedupe key so one cause gives one exit, and hands it to the same run_execution path."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from brokers.adapters.base import BrokerError, adapter_for
from brokers.models import BrokerAccount
from config.money import exact
from market.calendar import EXCHANGE_TZ, REGULAR_CLOSE, REGULAR_OPEN
from market.models import Instrument, Quote
from market.quotes import is_stale
from strategies.models import Leg, Strategy

from ..models import Alert, Execution, Order, Position
from .alerts import alert_raise
from .books import position_ltp, position_pnl_today
from .claims import broker_call

MIS_SQUARE_OFF = dt.time.fromisoformat(getattr(settings, "MIS_SQUARE_OFF_TIME", "15:15"))


def exit_create(*, strategy: Strategy, positions: list[Position], key: str, now: dt.datetime, cause: dict):
    """One MONITOR exit for `positions` of `strategy`; None when this cause already produced one."""
    local = now.astimezone(EXCHANGE_TZ)
    try:
        with transaction.atomic():
            return Execution.objects.create(
                strategy=strategy,
                execution_type=Execution.Type.EXIT,
                execution_date=local.date(),
                execution_time=local.time().replace(microsecond=0),
                due_at=now,
                trigger=Execution.Trigger.MONITOR,
                scope={"positions": [p.pk for p in positions]},
                dedupe_key=key[:80],
                enqueued_at=now,
                execution_results={"trigger": cause},
            )
    except IntegrityError:
        return None


def _open_positions():
    return (
        Position.objects.exclude(net_quantity=0)
        .filter(strategy__status__in=[Strategy.Status.ACTIVE, Strategy.Status.PAUSED, Strategy.Status.ARCHIVED])
        .select_related("strategy", "broker_account", "instrument", "instrument__quote")
    )


def _legs_of(positions) -> dict:
    """(strategy_id, instrument_id) -> the Leg that opened it, in two queries."""
    pairs = Order.objects.filter(strategy_id__in={p.strategy_id for p in positions}, leg__isnull=False).values_list(
        "strategy_id", "instrument_id", "leg_id"
    )
    leg_ids = {(strategy_id, instrument_id): leg_id for strategy_id, instrument_id, leg_id in pairs}
    legs = Leg.objects.in_bulk(set(leg_ids.values()))
    return {key: legs[leg_id] for key, leg_id in leg_ids.items() if leg_id in legs}


def stop_loss_check(*, now: dt.datetime) -> list[Execution]:
    """A leg's stop_loss is points of premium against the position: a short stops at average + stop_loss, a
    long at average − stop_loss. It closes that position of that strategy only."""
    positions = list(_open_positions())
    legs = _legs_of(positions)
    created = []
    for position in positions:
        leg = legs.get((position.strategy_id, position.instrument_id))
        ltp = position_ltp(position, now=now)
        if leg is None or leg.stop_loss is None or ltp is None:
            continue
        short = position.net_quantity < 0
        trigger = position.average_price + leg.stop_loss if short else position.average_price - leg.stop_loss
        if (short and ltp >= trigger) or (not short and ltp <= trigger):
            cause = {
                "kind": "STOP_LOSS",
                "leg_no": leg.leg_no,
                "client_id": position.broker_account.client_id,
                "tradingsymbol": position.instrument.tradingsymbol,
                "average_price": position.average_price,
                "stop_loss": leg.stop_loss,
                "trigger_price": trigger,
                "ltp": ltp,
            }
            key = f"SL:{position.pk}:{now.astimezone(EXCHANGE_TZ).date()}"
            execution = exit_create(strategy=position.strategy, positions=[position], key=key, now=now, cause=cause)
            if execution:
                created.append(execution)
                alert_raise(
                    owner_id=position.strategy.owner_id,
                    kind=Alert.Kind.STOP_LOSS,
                    message=f"{position.strategy} leg {leg.leg_no} on {position.broker_account.client_id}: "
                    f"{position.instrument.tradingsymbol} at {ltp} crossed its stop {trigger} "
                    f"(average {position.average_price}, stop_loss {leg.stop_loss}); closing {abs(position.net_quantity)}",
                    strategy_id=position.strategy_id,
                    account=position.broker_account,
                    execution=execution,
                )
    return created


@dataclass
class Pnl:
    total: Decimal = Decimal(0)
    known: bool = True


def daily_loss_check(*, now: dt.datetime) -> list[Execution]:
    """Per allocation (strategy × account) max_daily_loss flattens that strategy on that account; an
    account's max_daily_loss blocks its new entries."""
    today = now.astimezone(EXCHANGE_TZ).date()
    positions = list(
        Position.objects.filter(Q(day=today) | ~Q(net_quantity=0)).select_related(
            "strategy", "broker_account", "instrument", "instrument__quote"
        )
    )
    from allocations.models import Allocation

    limits = {
        (strategy_id, account_id): (risk or {}).get("max_daily_loss")
        for strategy_id, account_id, risk in Allocation.objects.filter(
            strategy_id__in={p.strategy_id for p in positions}
        ).values_list("strategy_id", "broker_account_id", "risk_limits")
    }
    by_pair: dict = {}
    by_account: dict = {}
    for position in positions:
        value = position_pnl_today(position, now=now)
        for bucket, key in (
            (by_pair, (position.strategy_id, position.broker_account_id)),
            (by_account, position.broker_account_id),
        ):
            entry = bucket.setdefault(key, (Pnl(), []))
            if value is None:
                entry[0].known = False
            else:
                entry[0].total += value
            entry[1].append(position)
    created = []
    for (strategy_id, account_id), (pnl, members) in by_pair.items():
        limit = limits.get((strategy_id, account_id))
        if limit is None or not pnl.known or pnl.total > -Decimal(str(limit)):
            continue
        open_ = [p for p in members if p.net_quantity]
        if not open_:
            continue
        strategy, account = open_[0].strategy, open_[0].broker_account
        cause = {
            "kind": "MAX_DAILY_LOSS",
            "client_id": account.client_id,
            "pnl": pnl.total,
            "limit": exact(limit),
        }
        execution = exit_create(
            strategy=strategy, positions=open_, key=f"DL:{strategy_id}:{account_id}:{today}", now=now, cause=cause
        )
        if execution:
            created.append(execution)
            alert_raise(
                owner_id=strategy.owner_id,
                kind=Alert.Kind.RISK,
                message=f"{strategy} on {account.client_id}: today's P&L {pnl.total} reached max_daily_loss {limit}; flattening",
                severity="CRITICAL",
                strategy_id=strategy.pk,
                account=account,
                execution=execution,
            )
    for account_id, (pnl, members) in by_account.items():
        account = members[0].broker_account
        if account.max_daily_loss is None or account.entries_blocked or not pnl.known:
            continue
        if pnl.total <= -account.max_daily_loss:
            reason = f"account max_daily_loss {account.max_daily_loss} reached (today {pnl.total})"
            BrokerAccount.objects.filter(pk=account_id).update(entries_blocked=True, entries_blocked_reason=reason)
            alert_raise(
                owner_id=account.owner_id,
                kind=Alert.Kind.RISK,
                message=f"{account.client_id}: {reason}; new entries blocked",
                account=account,
            )
    return created


def mis_square_off(*, now: dt.datetime) -> list[Execution]:
    """Intraday (MIS) strategies still holding positions at the cut-off are closed before the broker does it."""
    local = now.astimezone(EXCHANGE_TZ)
    if not (MIS_SQUARE_OFF <= local.time() <= REGULAR_CLOSE):
        return []
    created = []
    by_strategy: dict = {}
    for position in _open_positions().filter(strategy__product=Strategy.Product.MIS):
        by_strategy.setdefault(position.strategy, []).append(position)
    for strategy, positions in by_strategy.items():
        cause = {"kind": "MIS_SQUARE_OFF", "cutoff": MIS_SQUARE_OFF.isoformat()}
        execution = exit_create(
            strategy=strategy, positions=positions, key=f"MIS:{strategy.pk}:{local.date()}", now=now, cause=cause
        )
        if execution:
            created.append(execution)
            alert_raise(
                owner_id=strategy.owner_id,
                kind=Alert.Kind.RISK,
                message=f"{strategy}: MIS positions squared off at {local:%H:%M}",
                strategy_id=strategy.pk,
                execution=execution,
            )
    return created


def reconciliation_report(account: BrokerAccount) -> dict:
    """What the broker holds that the books do not explain (and the reverse). The account's orders are synced
    first (one status call), so a late fill is booked, not reported; nothing is placed to fix a difference."""
    from .sync import orders_sync

    try:
        broker = adapter_for(account)
        reports = broker_call(broker.orders_status)
        orders_sync(account=account, results=reports, source="reconcile")
        at_broker = broker_call(broker.open_positions)
    except BrokerError as exc:
        return {
            "client_id": account.client_id,
            "ok": False,
            "error": exc.message,
            "mismatches": [],
            "unknown_orders": [],
        }
    books: dict[int, int] = {}
    for instrument_id, net in (
        Position.objects.filter(broker_account=account)
        .exclude(net_quantity=0)
        .values_list("instrument_id", "net_quantity")
    ):
        books[instrument_id] = books.get(instrument_id, 0) + net
    ids = set(at_broker) | set(books)
    symbols = dict(Instrument.objects.filter(pk__in=ids).values_list("pk", "tradingsymbol"))
    mismatches = [
        {
            "tradingsymbol": symbols.get(i, str(i)),
            "broker_quantity": at_broker.get(i, 0),
            "book_quantity": books.get(i, 0),
        }
        for i in sorted(ids)
        if at_broker.get(i, 0) != books.get(i, 0)
    ]
    tags = {report.tag for report in reports}
    known = set(Order.objects.filter(broker_account=account, tag__in=tags).values_list("tag", flat=True))
    unknown_orders = [
        {"tag": report.tag, "broker_order_id": report.broker_order_id, "status": report.status}
        for report in reports
        if report.tag not in known
    ]
    return {
        "client_id": account.client_id,
        "ok": not mismatches and not unknown_orders,
        "error": "",
        "mismatches": mismatches,
        "unknown_orders": unknown_orders,
    }


def duplicate_order_check(*, now: dt.datetime) -> int:
    """Flag (alert, once while unacknowledged) every account whose broker state the books don't explain."""
    flagged = 0
    for account in BrokerAccount.objects.filter(status=BrokerAccount.Status.ACTIVE, positions__isnull=False).distinct():
        report = reconciliation_report(account)
        if report["ok"] or report["error"]:
            continue
        parts = [
            f"{m['tradingsymbol']}: broker {m['broker_quantity']}, books {m['book_quantity']}"
            for m in report["mismatches"]
        ]
        parts += [f"order {o['tag']} unknown to the books" for o in report["unknown_orders"]]
        message = f"{account.client_id} differs from the books: " + "; ".join(parts)
        if not Alert.objects.filter(
            broker_account=account, kind=Alert.Kind.RECONCILIATION, message=message, acknowledged_at=None
        ).exists():
            alert_raise(
                owner_id=account.owner_id,
                kind=Alert.Kind.RECONCILIATION,
                message=message,
                severity="CRITICAL",
                account=account,
            )
            flagged += 1
    return flagged


def feed_status(*, now: dt.datetime) -> list[dict]:
    """Per underlying: its index's last price, when it was updated, and whether it is stale."""
    return [
        {
            "underlying": quote.instrument.underlying,
            "ltp": quote.ltp,
            "updated_at": quote.updated_at,
            "stale": is_stale(quote.updated_at, now),
        }
        for quote in Quote.objects.filter(instrument__kind=Instrument.Kind.INDEX)
        .select_related("instrument")
        .order_by("instrument__underlying")
    ]


def stale_feed_check(*, now: dt.datetime) -> list[str]:
    """During the session, alert each owner with active strategies once per stale spell of an underlying."""
    local = now.astimezone(EXCHANGE_TZ)
    if not (REGULAR_OPEN <= local.time() <= REGULAR_CLOSE):
        return []
    stale = [item["underlying"] for item in feed_status(now=now) if item["stale"]]
    if stale:
        owners = set(
            Strategy.objects.filter(status=Strategy.Status.ACTIVE, underlying__in=stale).values_list(
                "owner_id", flat=True
            )
        )
        message = f"Market data is stale for {', '.join(stale)}: limit orders will not be priced until it recovers"
        for owner_id in owners:
            if not Alert.objects.filter(
                owner_id=owner_id, kind=Alert.Kind.STALE_FEED, message=message, acknowledged_at=None
            ).exists():
                alert_raise(owner_id=owner_id, kind=Alert.Kind.STALE_FEED, message=message, severity="CRITICAL")
    return stale


def close_out_stale(*, now: dt.datetime) -> int:
    """Executions still SCHEDULED after their day ended were never run: mark them MISSED with an alert."""
    today = now.astimezone(EXCHANGE_TZ).date()
    left = list(
        Execution.objects.filter(status=Execution.Status.SCHEDULED, execution_date__lt=today).select_related("strategy")
    )
    for execution in left:
        with transaction.atomic():
            updated = Execution.objects.filter(pk=execution.pk, status=Execution.Status.SCHEDULED).update(
                status=Execution.Status.MISSED, completed_at=now, error="never started on its day"
            )
            if updated:
                alert_raise(
                    owner_id=execution.strategy.owner_id,
                    kind=Alert.Kind.MISSED,
                    message=f"{execution.strategy} {execution.execution_type} of {execution.execution_date} never ran",
                    severity="CRITICAL",
                    strategy_id=execution.strategy_id,
                    execution=execution,
                )
    return len(left)


def run_all(*, now: dt.datetime, send=None) -> list[Execution]:
    """Every monitor; exits it creates are handed to `send(execution_id, eta)` after commit."""
    created = stop_loss_check(now=now) + daily_loss_check(now=now) + mis_square_off(now=now)
    stale_feed_check(now=now)
    duplicate_order_check(now=now)
    if send is not None:
        for execution in created:
            transaction.on_commit(lambda pk=execution.pk: send(pk, now))
    return created
