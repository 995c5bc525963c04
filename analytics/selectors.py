"""Reads of the analytics app: a performance report (series, metrics, attribution) over the daily marks."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from execution.models import Fill
from market.calendar import EXCHANGE_TZ

from . import metrics
from .marks import TradeFill, closed_trades
from .models import DailyMark

ZERO = Decimal(0)


def local_day(moment: dt.datetime) -> dt.date:
    """The exchange-local (IST) date of an instant."""
    return moment.astimezone(EXCHANGE_TZ).date()


def _pct(value: float | None, places: int = 2) -> float | None:
    return None if value is None else round(value * 100, places)


def _round(value: float | None, places: int = 2) -> float | None:
    return None if value is None else round(value, places)


def trades_closed(*, strategies, start: dt.date | None, end: dt.date | None) -> list[tuple[dt.date, Decimal]]:
    """(closing day, net P&L) of each closed trade of each strategy (see `analytics.marks.closed_trades`) that
    closed in the range, in closing order."""
    by_strategy = defaultdict(list)
    rows = (
        Fill.objects.filter(strategy__in=strategies)
        .order_by("filled_at", "id")
        .values_list(
            "strategy_id", "broker_account_id", "instrument_id", "order_id", "side", "quantity", "price", "filled_at"
        )
    )
    for strategy_id, account_id, instrument_id, order_id, side, quantity, price, at in rows:
        by_strategy[strategy_id].append(
            (local_day(at), TradeFill(account_id, instrument_id, order_id, side, quantity, price))
        )
    result = []
    for items in by_strategy.values():
        days = [day for day, _ in items]
        for index, pnl in closed_trades([fill for _, fill in items]):
            day = days[index]
            if (start is None or day >= start) and (end is None or day <= end):
                result.append((day, pnl))
    return sorted(result, key=lambda item: item[0])


def performance(*, strategies, capital: Decimal | None, start: dt.date | None, end: dt.date | None, risk_free_rate):
    """The report of a set of strategies over [start, end] (None: unbounded) from their daily marks.

    capital: the base the returns are measured on (a basket's deployable capital); None or 0 takes the
    largest capital the strategies used on any day of the range (Σ over accounts and strategies that day).
    Series per trading day with a mark: gross, fees, net (the day's P&L), equity = capital + cumulative net,
    drawdown % from the running peak, return %. Attribution sums gross, fees and net by strategy, by account
    and by leg number."""
    strategies = list(strategies)
    names = {s.pk: s.strategy_name for s in strategies}
    marks = DailyMark.objects.filter(strategy__in=strategies).select_related("broker_account")
    if start is not None:
        marks = marks.filter(date__gte=start)
    if end is not None:
        marks = marks.filter(date__lte=end)
    days: dict[dt.date, dict] = {}
    by_strategy, by_account, by_leg = {}, {}, {}

    def add(bucket, key, label, gross, fees, net):
        entry = bucket.setdefault(key, {**label, "gross_pnl": ZERO, "fees": ZERO, "net_pnl": ZERO})
        entry["gross_pnl"] += gross
        entry["fees"] += fees
        entry["net_pnl"] += net

    priced = True
    for mark in marks.order_by("date"):
        day = days.setdefault(mark.date, {"gross": ZERO, "fees": ZERO, "net": ZERO, "capital": ZERO})
        day["gross"] += mark.gross_pnl
        day["fees"] += mark.fees
        day["net"] += mark.net_pnl
        day["capital"] += mark.capital_used
        priced = priced and mark.priced
        name = names[mark.strategy_id]
        add(
            by_strategy,
            mark.strategy_id,
            {"strategy_id": mark.strategy_id, "strategy_name": name},
            mark.gross_pnl,
            mark.fees,
            mark.net_pnl,
        )
        client_id = mark.broker_account.client_id
        add(by_account, client_id, {"client_id": client_id}, mark.gross_pnl, mark.fees, mark.net_pnl)
        for leg_no, parts in mark.by_leg.items():
            add(
                by_leg,
                (mark.strategy_id, int(leg_no)),
                {"strategy_id": mark.strategy_id, "strategy_name": name, "leg_no": int(leg_no)},
                Decimal(parts["gross"]),
                Decimal(parts["fees"]),
                Decimal(parts["net"]),
            )
    dates = sorted(days)
    base = Decimal(capital) if capital else ZERO
    if base <= 0:
        base = max((d["capital"] for d in days.values()), default=ZERO)
    net = [float(days[d]["net"]) for d in dates]
    trades = trades_closed(strategies=strategies, start=start, end=end)
    trade_pnl = [float(pnl) for _, pnl in trades]
    if base > 0 and dates:
        summary = metrics.summarize(
            dates=dates, capital=float(base), pnl=net, trades=trade_pnl, risk_free_rate=float(risk_free_rate)
        )
        equity = metrics.equity_curve(float(base), net)
        drawdown = metrics.drawdowns(float(base), equity)
        returns = metrics.daily_returns(float(base), net)
        monthly = metrics.monthly_returns(dates, returns)
    else:
        summary = metrics.summarize(dates=[], capital=1.0, pnl=[], trades=trade_pnl, risk_free_rate=0.0)
        equity, drawdown, returns, monthly = [], [], [], {}
    series = []
    for index, day in enumerate(dates):
        entry = days[day]
        series.append(
            {
                "date": day,
                "equity": _round(equity[index]) if equity else None,
                "drawdown": _pct(drawdown[index]) if drawdown else None,
                "daily_pnl": entry["net"],
                "gross_pnl": entry["gross"],
                "fees": entry["fees"],
                "return": _pct(returns[index], 4) if returns else None,
                "capital_used": entry["capital"],
            }
        )
    dd = summary.max_drawdown
    totals = {
        "gross_pnl": sum((d["gross"] for d in days.values()), ZERO),
        "fees": sum((d["fees"] for d in days.values()), ZERO),
        "net_pnl": sum((d["net"] for d in days.values()), ZERO),
    }
    return {
        "from": start if start is not None else (dates[0] if dates else None),
        "to": end if end is not None else (dates[-1] if dates else None),
        "capital": base,
        "priced": priced,
        "summary": summary,
        "metrics": {
            "total_return": _pct(summary.total_return),
            "monthly_return": _pct(summary.monthly_return),
            "volatility": _pct(summary.volatility),
            "sharpe_ratio": _round(summary.sharpe_ratio),
            "max_drawdown": _pct(dd.depth) if dates and base > 0 else None,
            "max_drawdown_peak": dd.peak,
            "max_drawdown_trough": dd.trough,
            "max_drawdown_recovery": dd.recovery,
            "win_rate": _pct(summary.win_rate),
            "average_win": _round(summary.average_win),
            "average_loss": _round(summary.average_loss),
            "profit_factor": _round(summary.profit_factor),
            "expectancy": _round(summary.expectancy),
            "closed_trades": summary.trades,
            **totals,
        },
        "series": series,
        "monthly_returns": [{"month": f"{y:04d}-{m:02d}", "return": _pct(r)} for (y, m), r in sorted(monthly.items())],
        "attribution": {
            "by_strategy": sorted(by_strategy.values(), key=lambda e: e["strategy_name"]),
            "by_account": sorted(by_account.values(), key=lambda e: e["client_id"]),
            "by_leg": sorted(by_leg.values(), key=lambda e: (e["strategy_name"], e["leg_no"])),
        },
    }


def performance_metrics_of(report: dict) -> dict:
    """Seed 001's performance_metrics from a report: percentages (12.5 is 12.5 %) except the Sharpe ratio;
    null where undefined."""
    m = report["metrics"]
    return {
        "total_return": m["total_return"],
        "sharpe_ratio": m["sharpe_ratio"],
        "max_drawdown": m["max_drawdown"],
        "win_rate": m["win_rate"],
        "monthly_return": m["monthly_return"],
        "volatility": m["volatility"],
    }
