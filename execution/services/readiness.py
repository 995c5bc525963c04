"""The daily calendar readiness alert: from 30 days before an exchange's holiday horizon, every trader with
strategies to run (and ops, in the admin's alerts) is told each day what to load and the exact command."""

from __future__ import annotations

import datetime as dt

from market.calendar import EXCHANGE_TZ, UTC
from market.selectors import horizon_statuses, readiness_message

from ..models import Alert
from .alerts import alert_new
from .schedule import tradable_strategies


def calendar_readiness_alert(*, now: dt.datetime) -> int:
    """Raise today's readiness alert for each owner of a tradable strategy who has none yet today; returns how
    many were raised (0 when every horizon is more than 30 days out)."""
    today = now.astimezone(EXCHANGE_TZ).date()
    message = readiness_message(today)
    if not message:
        return 0
    past = any(status.state in ("PASSED", "UNKNOWN") for status in horizon_statuses(today))
    severity = Alert.Severity.CRITICAL if past else Alert.Severity.WARNING
    start_of_day = dt.datetime.combine(today, dt.time(0, 0), tzinfo=EXCHANGE_TZ).astimezone(UTC)
    owners = set(tradable_strategies().values_list("owner_id", flat=True))
    told = set(
        Alert.objects.filter(kind=Alert.Kind.CALENDAR, owner_id__in=owners, created_at__gte=start_of_day).values_list(
            "owner_id", flat=True
        )
    )
    alerts = [
        alert_new(owner_id=owner_id, kind=Alert.Kind.CALENDAR, severity=severity, message=message)
        for owner_id in sorted(owners - told)
    ]
    Alert.objects.bulk_create(alerts)
    return len(alerts)
