"""Pre-open session readiness: from 08:45 IST, every live account whose broker session will not be valid at
its first execution due today raises one alert that day (shown on the dashboard), so the trader connects it
before it is skipped. Angel One accounts first try their automatic TOTP login."""

from __future__ import annotations

import datetime as dt

from allocations.models import Allocation
from brokers import sessions
from brokers.models import Broker, BrokerAccount
from brokers.services import broker_sessions_login
from market.calendar import EXCHANGE_TZ, UTC

from ..models import Alert
from .alerts import alert_new
from .schedule import due_between

FROM = dt.time(8, 45)
ADVICE = {
    Broker.ZERODHA: "press Connect Zerodha on the Broker accounts page and log in at Kite",
    Broker.ANGELONE: "the automatic login failed; check the account's client code, PIN and TOTP secret",
}


def sessions_readiness_alert(*, now: dt.datetime) -> int:
    """Raise today's session alert for each live account not ready for its first due execution; returns how
    many were raised. Before 08:45 IST it does nothing; after that, once per account per day."""
    local = now.astimezone(EXCHANGE_TZ)
    if local.time() < FROM:
        return 0
    end = dt.datetime.combine(local.date(), dt.time(23, 59), tzinfo=EXCHANGE_TZ)
    due = sorted(due_between(now, end), key=lambda d: d.due_at)
    if not due:
        return 0
    first_by_strategy = {}
    for item in due:
        first_by_strategy.setdefault(item.strategy_id, item)
    allocations = (
        Allocation.objects.filter(strategy_id__in=list(first_by_strategy), status=Allocation.Status.ACTIVE)
        .exclude(broker_account__broker=Broker.PAPER)
        .select_related("broker_account", "strategy")
    )
    first: dict = {}
    for allocation in allocations:
        item = first_by_strategy[allocation.strategy_id]
        known = first.get(allocation.broker_account_id)
        if known is None or item.due_at < known[1].due_at:
            first[allocation.broker_account_id] = (allocation.broker_account, item, allocation.strategy)
    angel = [account for account, _, _ in first.values() if account.broker == Broker.ANGELONE]
    if angel:
        broker_sessions_login(accounts=angel, retry_refused=False)
    start_of_day = dt.datetime.combine(local.date(), dt.time(0, 0), tzinfo=EXCHANGE_TZ).astimezone(UTC)
    told = set(
        Alert.objects.filter(kind=Alert.Kind.SESSION, created_at__gte=start_of_day).values_list(
            "broker_account_id", flat=True
        )
    )
    alerts = []
    for account_id, (account, item, strategy) in sorted(first.items(), key=lambda kv: str(kv[0])):
        account = BrokerAccount.objects.get(pk=account_id)  # the login above may have stored a session
        if account_id in told or sessions.session_valid_at(account, item.due_at):
            continue
        at = item.due_at.astimezone(EXCHANGE_TZ)
        alerts.append(
            alert_new(
                owner_id=account.owner_id,
                kind=Alert.Kind.SESSION,
                severity=Alert.Severity.CRITICAL,
                message=(
                    f"{account.client_id} ({account.get_broker_display()}): no valid session for the "
                    f"{item.execution_type.lower()} of {strategy} at {at:%H:%M} IST; {ADVICE[account.broker]}."
                    + (f" Last error: {account.last_error}" if account.last_error else "")
                ),
                strategy_id=strategy.pk,
                account=account,
            )
        )
    Alert.objects.bulk_create(alerts)
    return len(alerts)
