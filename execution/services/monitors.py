"""Checks run on the minute tick: resting paper orders, stale feed, executions left behind."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from brokers.adapters.base import adapter_for
from brokers.models import Broker, BrokerAccount, Instrument, PaperOrder, Quote
from brokers.quotes import is_stale

from ..calendar import EXCHANGE_TZ, REGULAR_CLOSE, REGULAR_OPEN
from ..models import Alert, Execution


def paper_match(*, now: dt.datetime) -> int:
    """Let the paper exchange fill resting limit orders whose price the market now crosses."""
    filled = 0
    account_ids = PaperOrder.objects.filter(status=PaperOrder.Status.OPEN).values_list("account_id", flat=True)
    for account in BrokerAccount.objects.filter(pk__in=set(account_ids), broker=Broker.PAPER):
        filled += adapter_for(account).match_open_orders()
    return filled


def stale_feed_check(*, now: dt.datetime) -> list[str]:
    """Underlyings whose index quote is stale during the session; one alert per owner per stale spell."""
    local = now.astimezone(EXCHANGE_TZ)
    if not (REGULAR_OPEN <= local.time() <= REGULAR_CLOSE):
        return []
    stale = [
        quote.instrument.underlying
        for quote in Quote.objects.filter(instrument__kind=Instrument.Kind.INDEX).select_related("instrument")
        if is_stale(quote.updated_at, now)
    ]
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
                Alert.objects.create(
                    owner_id=execution.strategy.owner_id,
                    kind=Alert.Kind.MISSED,
                    severity=Alert.Severity.CRITICAL,
                    message=f"{execution.strategy} {execution.execution_type} of {execution.execution_date} never ran",
                    strategy_id=execution.strategy_id,
                    execution=execution,
                )
    return len(left)


def run_all(*, now: dt.datetime) -> None:
    paper_match(now=now)
