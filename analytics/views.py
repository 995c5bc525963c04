"""Performance pages: a basket's or strategy's equity curve with its drawdown, daily P&L bars, monthly
returns, metrics and attribution (server-rendered SVG, each chart with its table and a CSV export), and a
strategy's intraday MTM line. Views validate, call one selector, render."""

from __future__ import annotations

import csv
import datetime as dt

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from baskets.models import Basket
from execution.models import Position
from market.calendar import EXCHANGE_TZ
from market.models import Instrument, Quote
from market.quotes import is_stale
from strategies.models import Strategy

from . import chart
from .api.serializers import PerformanceQuerySerializer
from .models import IntradayMark
from .selectors import local_day, performance

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _range(request) -> tuple[dict, dict]:
    """(validated from/to, errors by field) from the query string."""
    query = PerformanceQuerySerializer(data={k: v for k, v in request.GET.items() if k in ("from", "to") and v})
    if query.is_valid():
        return query.validated_data, {}
    errors = {}
    for name, messages in query.errors.items():
        errors[name] = [str(m) for m in messages] if isinstance(messages, list) else [str(messages)]
    return {}, errors


def _monthly_table(months: list[dict]) -> list[dict]:
    """Rows per year: twelve cells (None where the series has no day that month) and the compounded year."""
    years: dict[int, dict] = {}
    for row in months:
        year, month = (int(part) for part in row["month"].split("-"))
        years.setdefault(year, [None] * 12)[month - 1] = row["return"]
    table = []
    for year, cells in sorted(years.items()):
        growth = 1.0
        for value in cells:
            if value is not None:
                growth *= 1 + value / 100
        table.append({"year": year, "cells": cells, "total": round((growth - 1) * 100, 2)})
    return table


def _context(request, *, subject, kind, strategies, capital):
    window, errors = _range(request)
    report = performance(
        strategies=strategies,
        capital=capital,
        start=window.get("from"),
        end=window.get("to"),
        risk_free_rate=settings.RISK_FREE_RATE,
    )
    series = report["series"]
    labels = [f"{p['date']:%d %b}" for p in series]
    return {
        "subject": subject,
        "kind": kind,
        "report": report,
        "metrics": report["metrics"],
        "series": series,
        "errors": errors,
        "window": {"from": request.GET.get("from", ""), "to": request.GET.get("to", "")},
        "equity_chart": chart.line(labels, [p["equity"] for p in series]),
        "drawdown_chart": chart.line(
            labels, [-(p["drawdown"] or 0) for p in series], height=120, fmt=chart.percent, include_zero=True
        ),
        "pnl_chart": chart.bars(labels, [p["daily_pnl"] for p in series]),
        "monthly": _monthly_table(report["monthly_returns"]),
        "months": MONTHS,
        "attribution": report["attribution"],
    }


def _page(request, context):
    status = 400 if context["errors"] else 200
    template = "analytics/_performance.html" if request.htmx else "analytics/performance.html"
    return render(request, template, context, status=status)


@login_required
def basket_performance(request, basket_id):
    basket = get_object_or_404(Basket, owner=request.user, pk=basket_id)
    context = _context(
        request,
        subject=basket,
        kind="basket",
        strategies=list(basket.strategies.all()),
        capital=basket.deployable_capital,
    )
    return _page(request, context)


@login_required
def strategy_performance(request, strategy_id):
    strategy = get_object_or_404(Strategy, owner=request.user, pk=strategy_id)
    return _page(request, _context(request, subject=strategy, kind="strategy", strategies=[strategy], capital=None))


def _csv(report: dict, table: str, name: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{table}.csv"'
    writer = csv.writer(response)
    if table == "monthly":
        writer.writerow(["month", "return_pct"])
        for row in report["monthly_returns"]:
            writer.writerow([row["month"], row["return"]])
    elif table == "attribution":
        writer.writerow(["dimension", "strategy", "client_id", "leg_no", "gross_pnl", "fees", "net_pnl"])
        for dimension, rows in report["attribution"].items():
            for row in rows:
                writer.writerow(
                    [
                        dimension.removeprefix("by_"),
                        row.get("strategy_name", ""),
                        row.get("client_id", ""),
                        row.get("leg_no", ""),
                        row["gross_pnl"],
                        row["fees"],
                        row["net_pnl"],
                    ]
                )
    else:
        writer.writerow(["date", "equity", "drawdown_pct", "gross_pnl", "fees", "net_pnl", "capital_used"])
        for p in report["series"]:
            writer.writerow(
                [p["date"], p["equity"], p["drawdown"], p["gross_pnl"], p["fees"], p["daily_pnl"], p["capital_used"]]
            )
    return response


def _csv_view(request, *, name, strategies, capital):
    window, errors = _range(request)
    table = request.GET.get("table", "series")
    if table not in ("series", "monthly", "attribution"):
        errors["table"] = ["Choose series, monthly or attribution."]
    if errors:
        return HttpResponse(
            "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()), status=400, content_type="text/plain"
        )
    report = performance(
        strategies=strategies,
        capital=capital,
        start=window.get("from"),
        end=window.get("to"),
        risk_free_rate=settings.RISK_FREE_RATE,
    )
    return _csv(report, table, name)


@login_required
def basket_performance_csv(request, basket_id):
    basket = get_object_or_404(Basket, owner=request.user, pk=basket_id)
    return _csv_view(
        request, name=f"basket-{basket.pk}", strategies=list(basket.strategies.all()), capital=basket.deployable_capital
    )


@login_required
def strategy_performance_csv(request, strategy_id):
    strategy = get_object_or_404(Strategy, owner=request.user, pk=strategy_id)
    return _csv_view(request, name=f"strategy-{strategy.pk}", strategies=[strategy], capital=None)


@login_required
def strategy_intraday(request, strategy_id):
    """Today's MTM line from the minute samples; the partial keeps refreshing each minute while the strategy
    holds positions."""
    strategy = get_object_or_404(Strategy, owner=request.user, pk=strategy_id)
    now = timezone.now()
    today = local_day(now)
    start = dt.datetime.combine(today, dt.time.min, tzinfo=EXCHANGE_TZ)
    samples = list(IntradayMark.objects.filter(strategy=strategy, at__gte=start).order_by("at"))
    holding = Position.objects.filter(strategy=strategy).exclude(net_quantity=0).exists()
    labels = [f"{s.at.astimezone(EXCHANGE_TZ):%H:%M}" for s in samples]
    context = {
        "strategy": strategy,
        "samples": samples,
        "holding": holding,
        "today": today,
        "chart": chart.line(labels, [s.mtm for s in samples], include_zero=True, height=180),
        "last": samples[-1] if samples else None,
    }
    return render(request, "analytics/_intraday.html", context)


@login_required
def option_chain(request):
    """The option chain of an underlying and expiry from the instrument master and the feed's quotes: per
    strike, calls left and puts right (LTP, bid/ask, IV, delta, quote age), stale quotes marked, the strike
    nearest the index price highlighted. Refreshes every 2 seconds (htmx)."""
    now = timezone.now()
    underlyings = list(
        Instrument.objects.filter(kind=Instrument.Kind.OPTION, active=True)
        .order_by("underlying")
        .values_list("underlying", flat=True)
        .distinct()
    )
    errors = {}
    underlying = request.GET.get("underlying") or (underlyings[0] if underlyings else "")
    if underlyings and underlying not in underlyings:
        errors["underlying"] = [f"Choose one of {', '.join(underlyings)}."]
        underlying = underlyings[0]
    expiries = list(
        Instrument.objects.filter(
            kind=Instrument.Kind.OPTION, underlying=underlying, active=True, expiry__gte=local_day(now)
        )
        .order_by("expiry")
        .values_list("expiry", flat=True)
        .distinct()
    )
    expiry = expiries[0] if expiries else None
    if request.GET.get("expiry"):
        try:
            wanted = dt.date.fromisoformat(request.GET["expiry"])
        except ValueError:
            errors["expiry"] = ["Use a date as YYYY-MM-DD."]
        else:
            if wanted in expiries:
                expiry = wanted
            else:
                errors["expiry"] = ["No listed expiry on that date."]
    options = (
        Instrument.objects.filter(kind=Instrument.Kind.OPTION, underlying=underlying, expiry=expiry)
        .select_related("quote")
        .order_by("strike", "option_type")
    )
    strikes: dict = {}
    for instrument in options:
        quote = getattr(instrument, "quote", None)
        strikes.setdefault(instrument.strike, {})[instrument.option_type] = {
            "instrument": instrument,
            "quote": quote,
            "age": None if quote is None else max(0, int((now - quote.updated_at).total_seconds())),
            "stale": is_stale(quote.updated_at if quote else None, now),
        }
    index = (
        Quote.objects.filter(instrument__kind=Instrument.Kind.INDEX, instrument__underlying=underlying)
        .select_related("instrument")
        .first()
    )
    atm = min(strikes, key=lambda k: abs(k - index.ltp)) if index and strikes else None
    rows = [{"strike": k, "ce": v.get("CE"), "pe": v.get("PE"), "atm": k == atm} for k, v in sorted(strikes.items())]
    context = {
        "underlyings": underlyings,
        "underlying": underlying,
        "expiries": expiries,
        "expiry": expiry,
        "rows": rows,
        "index": index,
        "index_stale": is_stale(index.updated_at if index else None, now),
        "errors": errors,
        "now": now,
        "stale_seconds": settings.QUOTE_STALE_SECONDS,
    }
    template = "analytics/_option_chain.html" if request.htmx else "analytics/option_chain.html"
    return render(request, template, context, status=400 if errors else 200)
