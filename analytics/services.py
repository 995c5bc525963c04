"""Writes of the analytics app: daily marks (nightly and backfill), the cached performance_metrics of
strategies and baskets, and the intraday MTM samples."""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from baskets.models import Basket
from execution.models import Fill, Position
from execution.services.schedule import exchange_for
from market import calendar
from market.models import Quote
from market.selectors import holidays_between, sessions_between
from strategies.models import Strategy

from . import marks as marks_module
from .models import DailyMark, IntradayMark
from .selectors import local_day, performance, performance_metrics_of


def _trading_days(exchange: str, start: dt.date, end: dt.date) -> list[dt.date]:
    holidays = holidays_between(exchange, start, end)
    sessions = sessions_between(exchange, start, end)
    days, day = [], start
    while day <= end:
        if calendar.is_trading_day(day, holidays, sessions):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


class _Closes:
    """Close price of a contract on a day: the day's own quote when the feed priced it that day, else the
    close an earlier mark stored for that day, else the last fill price of the contract on or before it."""

    def __init__(self, instrument_ids, *, stored: dict):
        self.stored = stored  # (day, instrument_id) -> Decimal
        self.quotes = {
            q.instrument_id: (local_day(q.updated_at), q.ltp)
            for q in Quote.objects.filter(instrument_id__in=instrument_ids)
        }
        self.trades: dict[int, tuple[list, list]] = defaultdict(lambda: ([], []))
        rows = (
            Fill.objects.filter(instrument_id__in=instrument_ids)
            .order_by("filled_at", "id")
            .values_list("instrument_id", "filled_at", "price")
        )
        for instrument_id, at, price in rows:
            days, prices = self.trades[instrument_id]
            days.append(local_day(at))
            prices.append(price)

    def __call__(self, day: dt.date, instrument_id: int) -> Decimal | None:
        quote = self.quotes.get(instrument_id)
        if quote and quote[0] == day:
            return quote[1]
        if (day, instrument_id) in self.stored:
            return self.stored[(day, instrument_id)]
        days, prices = self.trades.get(instrument_id, ([], []))
        index = bisect.bisect_right(days, day)
        return prices[index - 1] if index else None


def _fill_rows(strategy_ids) -> dict[tuple, list]:
    rows = (
        Fill.objects.filter(strategy_id__in=list(strategy_ids))
        .order_by("filled_at", "id")
        .values_list(
            "strategy_id",
            "broker_account_id",
            "order_id",
            "instrument_id",
            "order__leg_no",
            "side",
            "quantity",
            "price",
            "filled_at",
            "instrument__strike",
            "instrument__option_type",
        )
    )
    books: dict[tuple, list] = defaultdict(list)
    for strategy_id, account_id, order_id, instrument_id, leg_no, side, qty, price, at, strike, option in rows:
        books[(strategy_id, account_id)].append(
            marks_module.FillRow(
                day=local_day(at),
                order_id=order_id,
                instrument_id=instrument_id,
                leg_no=leg_no,
                side=side,
                quantity=qty,
                price=price,
                strike=strike or Decimal(0),
                option_type=option,
            )
        )
    return books


def _mark_row(strategy_id, account_id, mark: marks_module.DayMark) -> DailyMark:
    cent = Decimal("0.01")
    return DailyMark(
        strategy_id=strategy_id,
        broker_account_id=account_id,
        date=mark.day,
        realized_pnl=mark.realized.quantize(cent),
        unrealized_pnl=mark.unrealized.quantize(cent),
        gross_pnl=mark.gross.quantize(cent),
        fees=mark.fees,
        net_pnl=mark.net.quantize(cent),
        capital_used=mark.capital_used.quantize(cent),
        charges={k: str(v) for k, v in mark.charges.as_dict().items()},
        by_leg={
            str(leg_no): {k: str(v.quantize(cent)) for k, v in parts.items()} for leg_no, parts in mark.by_leg.items()
        },
        closes={str(k): str(v) for k, v in mark.closes.items()},
        priced=mark.priced,
        open_quantity=mark.open_quantity,
    )


def marks_rebuild(*, end: dt.date, start: dt.date | None = None, strategies=None) -> int:
    """Rebuild the daily marks of every book (strategy × account) that has fills, for the trading days from
    `start` (default: each book's first fill) to `end`, replaying all its fills (see `analytics.marks`).
    Marks of those days are replaced, earlier ones kept; then the strategies' and their baskets'
    performance_metrics are refreshed. Idempotent. Returns how many marks were written."""
    strategy_qs = Strategy.objects.filter(fills__isnull=False).distinct()
    if strategies is not None:
        strategy_qs = strategy_qs.filter(pk__in=[s.pk for s in strategies])
    by_id = {s.pk: s for s in strategy_qs}
    books = _fill_rows(by_id)
    instrument_ids = {f.instrument_id for rows in books.values() for f in rows}
    stored = {}
    for day, closes in DailyMark.objects.filter(strategy_id__in=list(by_id)).values_list("date", "closes"):
        for instrument_id, price in closes.items():
            stored.setdefault((day, int(instrument_id)), Decimal(price))
    close = _Closes(instrument_ids, stored=stored)
    written = []
    for (strategy_id, account_id), fills in books.items():
        strategy = by_id[strategy_id]
        first = fills[0].day
        last = end
        if strategy.status == Strategy.Status.ARCHIVED:
            last = min(end, max(f.day for f in fills))
        days = _trading_days(exchange_for(strategy.underlying), first, last)
        if not days:
            continue
        for mark in marks_module.replay(fills, days=days, close=close):
            if start is None or mark.day >= start:
                written.append(_mark_row(strategy_id, account_id, mark))
    with transaction.atomic():
        stale = DailyMark.objects.filter(strategy_id__in=list(by_id), date__lte=end)
        if start is not None:
            stale = stale.filter(date__gte=start)
        stale.delete()
        DailyMark.objects.bulk_create(written, batch_size=1000)
        performance_refresh(strategies=list(by_id.values()))
    return len(written)


def marks_nightly(*, now: dt.datetime) -> int:
    """The nightly housekeeping's part: today's marks (a non-trading day writes none), from today's close."""
    return marks_rebuild(start=local_day(now), end=local_day(now))


def performance_refresh(*, strategies) -> None:
    """Store the all-time performance_metrics (seed 001's fields) of the strategies and of their baskets."""
    strategies = list(strategies)
    rf = float(settings.RISK_FREE_RATE)
    for strategy in strategies:
        result = performance(strategies=[strategy], capital=None, start=None, end=None, risk_free_rate=rf)
        Strategy.objects.filter(pk=strategy.pk).update(performance_metrics=performance_metrics_of(result))
    basket_ids = {s.basket_id for s in strategies if s.basket_id}
    for basket in Basket.objects.filter(pk__in=basket_ids):
        result = performance(
            strategies=list(basket.strategies.all()),
            capital=basket.deployable_capital,
            start=None,
            end=None,
            risk_free_rate=rf,
        )
        Basket.objects.filter(pk=basket.pk).update(performance_metrics=performance_metrics_of(result))


def intraday_marks_sample(*, now: dt.datetime) -> int:
    """One MTM sample per strategy holding positions (realized today + open at the last price), stamped to the
    minute. Strategies whose held contracts have no price are skipped for that minute. Returns how many."""
    today = local_day(now)
    minute = now.replace(second=0, microsecond=0)
    totals: dict = {}
    rows = Position.objects.filter(Q(day=today) | ~Q(net_quantity=0)).values_list(
        "strategy_id", "net_quantity", "average_price", "day", "day_realized_pnl", "instrument__quote__ltp"
    )
    holding = set()
    for strategy_id, net, average, day, day_realized, ltp in rows:
        total = totals.setdefault(strategy_id, Decimal(0))
        if total is None:
            continue
        if day == today:
            total += day_realized
        if net:
            holding.add(strategy_id)
            total = None if ltp is None else total + (ltp - average) * net
        totals[strategy_id] = total
    samples = [
        IntradayMark(strategy_id=pk, at=minute, mtm=total.quantize(Decimal("0.01")))
        for pk, total in totals.items()
        if pk in holding and total is not None
    ]
    IntradayMark.objects.bulk_create(samples, ignore_conflicts=True)
    return len(samples)
