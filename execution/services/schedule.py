"""The minute tick: materialize Execution rows for strategies due in the next minutes in one pass, and
enqueue run_execution for each with ETA at its due instant; cancel scheduled ones (the admin's action). Also the
computed schedule for any day."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from allocations.models import Allocation
from market import calendar
from market.selectors import holidays_between, sessions_between
from strategies.models import Leg, Strategy

from ..models import Execution, Position

EXCHANGE_OF = {"SENSEX": "BSE"}  # every other index trades on NSE


def exchange_for(underlying: str) -> str:
    return EXCHANGE_OF.get(underlying, "NSE")


def tradable_strategies():
    """ACTIVE strategies with at least one enabled leg and one active allocation."""
    return Strategy.objects.filter(
        Exists(Leg.objects.filter(strategy=OuterRef("pk"), enabled=True)),
        Exists(Allocation.objects.filter(strategy=OuterRef("pk"), status=Allocation.Status.ACTIVE)),
        status=Strategy.Status.ACTIVE,
    )


def exit_candidates():
    """Strategies whose scheduled exit must run: the tradable ones, and any other (a paused one, say) that
    still holds open positions. Pausing stops entries; it never strands a position."""
    holding = Position.objects.filter(strategy=OuterRef("pk")).exclude(net_quantity=0)
    return Strategy.objects.filter(Q(pk__in=tradable_strategies().values("pk")) | Q(Exists(holding)))


@dataclass(frozen=True)
class Due:
    strategy_id: object
    underlying: str
    execution_type: str
    day: dt.date
    time: dt.time
    due_at: dt.datetime


def due_between(start: dt.datetime, end: dt.datetime, *, strategies=None) -> list[Due]:
    """Entries and exits falling in [start, end) on trading days of their exchange, from the calendar."""
    local_start, local_end = start.astimezone(calendar.EXCHANGE_TZ), end.astimezone(calendar.EXCHANGE_TZ)
    day = local_start.date()
    if local_end.date() != day:  # the window never spans midnight in practice (sessions end 15:30)
        local_end = local_start.replace(hour=23, minute=59, second=59, microsecond=999999)
    weekday = calendar.WEEKDAYS[day.weekday()]
    holidays = {exchange: holidays_between(exchange, day, day) for exchange in ("NSE", "BSE")}
    sessions = {exchange: sessions_between(exchange, day, day) for exchange in ("NSE", "BSE")}
    entries = strategies if strategies is not None else tradable_strategies()
    exits = strategies if strategies is not None else exit_candidates()
    t0, t1 = local_start.time(), local_end.time()
    due = []
    for execution_type, time_field, days_field in (
        ("ENTRY", "entry_time", "entry_days"),
        ("EXIT", "exit_time", "exit_days"),
    ):
        queryset = entries if execution_type == "ENTRY" else exits
        rows = queryset.filter(**{f"{time_field}__gte": t0, f"{time_field}__lt": t1}).values_list(
            "id", "underlying", time_field, days_field
        )
        for strategy_id, underlying, at, days in rows:
            exchange = exchange_for(underlying)
            if weekday not in days or not calendar.is_trading_day(day, holidays[exchange], sessions[exchange]):
                continue
            due.append(Due(strategy_id, underlying, execution_type, day, at, calendar.due_instant(day, at)))
    return due


def executions_materialize(*, now: dt.datetime) -> int:
    """Create the Execution rows due in the lookahead window in one INSERT … ON CONFLICT DO NOTHING.
    Returns how many rows the window holds (created now or before)."""
    end = now + dt.timedelta(minutes=settings.EXECUTION_LOOKAHEAD_MINUTES)
    due = due_between(now, end)
    Execution.objects.bulk_create(
        [
            Execution(
                strategy_id=item.strategy_id,
                execution_type=item.execution_type,
                execution_date=item.day,
                execution_time=item.time,
                due_at=item.due_at,
                trigger=Execution.Trigger.SCHEDULED,
            )
            for item in due
        ],
        ignore_conflicts=True,
        batch_size=2000,
    )
    return len(due)


def batch_sizes(count: int, largest: int) -> list[int]:
    """How the executions due at one instant are split into messages: 1, 2, 4, … up to `largest`, then
    `largest` each. The first message is small so the first order goes out at once; the later ones are large so
    that the whole minute is placed with few claims, plan loads and broker calls."""
    sizes, size = [], 1
    while count > 0:
        sizes.append(min(size, count, largest))
        count -= sizes[-1]
        size *= 2
    return sizes


def _batches(rows: list[tuple]) -> list[tuple]:
    """(batch id, start instant, execution ids) for (id, due_at) rows, by due instant in due order. The first
    batch of an instant starts at it; the others EXECUTION_BATCH_STAGGER_MS later, so that the first one
    has the workers to itself and its orders go out at once."""
    stagger = dt.timedelta(milliseconds=settings.EXECUTION_BATCH_STAGGER_MS)
    by_due: dict = {}
    for pk, due_at in sorted(rows, key=lambda row: (row[1], str(row[0]))):
        by_due.setdefault(due_at, []).append(pk)
    batches = []
    for due_at, ids in by_due.items():
        start = 0
        for size in batch_sizes(len(ids), settings.EXECUTION_BATCH_SIZE):
            batches.append((uuid.uuid4(), due_at + stagger if start else due_at, ids[start : start + size]))
            start += size
    return batches


def executions_enqueue(*, now: dt.datetime, send) -> int:
    """Hand the due, not yet enqueued executions to `send(batch_id, eta)` in batches, once the marking commits.
    Each execution carries the id of the one message that runs it; the message carries only that id.

    Executions whose worker died (lease expired) are handed out again; so are scheduled ones whose message
    was lost (due a while ago, still SCHEDULED). Returns how many executions were handed out."""
    end = now + dt.timedelta(minutes=settings.EXECUTION_LOOKAHEAD_MINUTES)
    budget = dt.timedelta(seconds=settings.EXECUTION_LATENESS_BUDGET_SECONDS)
    with transaction.atomic():
        fresh = list(
            Execution.objects.select_for_update(skip_locked=True)
            .filter(status=Execution.Status.SCHEDULED, enqueued_at__isnull=True, due_at__lt=end)
            .values_list("id", "due_at")
        )
        lost = list(
            Execution.objects.filter(
                status=Execution.Status.SCHEDULED,
                enqueued_at__lt=now - dt.timedelta(seconds=5),
                due_at__lt=now - budget / 3,
            ).values_list("id", "due_at")
        )
        resumable = list(
            Execution.objects.filter(status=Execution.Status.IN_PROGRESS, lease_expires_at__lt=now).values_list(
                "id", "due_at"
            )
        )
        batches = _batches(fresh) + _batches(lost + resumable)
        fresh_ids = {pk for pk, _ in fresh}
        for batch_id, _, ids in batches:
            marked = Execution.objects.filter(pk__in=ids)
            if fresh_ids.issuperset(ids):
                marked.update(batch=batch_id, enqueued_at=now)
            else:
                marked.update(batch=batch_id)
        transaction.on_commit(lambda: [send(batch_id, due_at) for batch_id, due_at, _ in batches])
    return sum(len(ids) for _, _, ids in batches)


def execution_manual_create(*, strategy, execution_type: str, force: bool, now: dt.datetime, send) -> Execution:
    """A MANUAL execution due now, run through the same path as scheduled ones: `send(execution_id)` hands it to
    the queue once the row is committed. A second manual one of the same type on the same day is refused (409)
    unless `force`."""
    from config.exceptions import ConflictError, DomainError

    if strategy.status == Strategy.Status.ARCHIVED:
        raise DomainError("This strategy is archived.", field="strategy_id")
    day = now.astimezone(calendar.EXCHANGE_TZ).date()
    with transaction.atomic():
        Strategy.objects.select_for_update().filter(pk=strategy.pk).first()  # serialize concurrent requests
        earlier = Execution.objects.filter(
            strategy=strategy, execution_type=execution_type, execution_date=day, trigger=Execution.Trigger.MANUAL
        ).exclude(status__in=[Execution.Status.FAILED, Execution.Status.CANCELLED, Execution.Status.MISSED])
        if earlier.exists() and not force:
            raise ConflictError(f"A manual {execution_type.lower()} of this strategy already ran today.")
        execution = Execution.objects.create(
            strategy=strategy,
            execution_type=execution_type,
            execution_date=day,
            execution_time=now.astimezone(calendar.EXCHANGE_TZ).time().replace(microsecond=0),
            due_at=now,
            trigger=Execution.Trigger.MANUAL,
            enqueued_at=now,
        )
        transaction.on_commit(lambda: send(execution.pk))
        return execution


def execution_cancel(*, execution_ids) -> list[Execution]:
    """Cancel those of `execution_ids` that are still SCHEDULED; the others (running, finished) are left as they
    are. Returns the cancelled executions, with their strategy."""
    with transaction.atomic():
        # Lock first so a worker's claim (UPDATE … WHERE status='SCHEDULED') cannot interleave; the conditional
        # UPDATE leaves rows that are already running or finished untouched.
        pks = list(
            Execution.objects.select_for_update()
            .filter(pk__in=execution_ids, status=Execution.Status.SCHEDULED)
            .values_list("pk", flat=True)
        )
        Execution.objects.filter(pk__in=pks, status=Execution.Status.SCHEDULED).update(
            status=Execution.Status.CANCELLED
        )
        return list(Execution.objects.filter(pk__in=pks).select_related("strategy"))


@dataclass(frozen=True)
class ScheduleItem:
    strategy_id: object
    strategy_name: str
    underlying: str
    execution_type: str
    execution_time: dt.time
    due_at: dt.datetime
    execution: Execution | None


def schedule_for_day(*, owner, day: dt.date, execution_type: str | None = None):
    """What runs on `day` for `owner`, computed from the calendar (days with no Execution row yet included).
    Returns (is_holiday per exchange, items)."""
    weekday = calendar.WEEKDAYS[day.weekday()]
    holidays = {exchange: holidays_between(exchange, day, day) for exchange in ("NSE", "BSE")}
    sessions = {exchange: sessions_between(exchange, day, day) for exchange in ("NSE", "BSE")}
    closed = {
        exchange: not calendar.is_trading_day(day, holidays[exchange], sessions[exchange]) for exchange in holidays
    }
    strategies = list(tradable_strategies().filter(owner=owner).order_by("entry_time", "strategy_name"))
    existing = {
        (e.strategy_id, e.execution_type): e
        for e in Execution.objects.filter(
            strategy__owner=owner, execution_date=day, trigger=Execution.Trigger.SCHEDULED
        )
    }
    items = []
    for strategy in strategies:
        if closed[exchange_for(strategy.underlying)]:
            continue
        for kind, at, days in (
            ("ENTRY", strategy.entry_time, strategy.entry_days),
            ("EXIT", strategy.exit_time, strategy.exit_days),
        ):
            if execution_type and kind != execution_type:
                continue
            if weekday in days:
                items.append(
                    ScheduleItem(
                        strategy.pk,
                        strategy.strategy_name,
                        strategy.underlying,
                        kind,
                        at,
                        calendar.due_instant(day, at),
                        existing.get((strategy.pk, kind)),
                    )
                )
    items.sort(key=lambda item: (item.due_at, item.strategy_name))
    return closed, items
