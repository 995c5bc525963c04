"""Alerts the engine raises: one factory, so every alert carries its owner, strategy, execution and account
the same way, whoever raises it (placement, monitors, the kill switch, readiness checks)."""

from __future__ import annotations

from ..models import Alert, Execution


def alert_new(
    *,
    kind: str,
    message: str,
    severity: str = Alert.Severity.WARNING,
    execution: Execution | None = None,
    owner_id=None,
    strategy_id=None,
    account=None,
) -> Alert:
    """An unsaved alert (callers insert many at once with bulk_create, or one with alert_raise). With an
    execution, its strategy and that strategy's owner are the alert's unless given."""
    if execution is not None:
        owner_id = owner_id or execution.strategy.owner_id
        strategy_id = strategy_id or execution.strategy_id
    return Alert(
        owner_id=owner_id,
        kind=kind,
        severity=severity,
        message=message,
        strategy_id=strategy_id,
        execution=execution,
        broker_account=account,
    )


def alert_raise(**fields) -> Alert:
    """alert_new, saved."""
    alert = alert_new(**fields)
    alert.save()
    return alert


def alerts_acknowledge(*, alerts, now) -> int:
    """Mark the alerts of `alerts` (a queryset) that are not acknowledged yet as acknowledged at `now`; one
    already acknowledged keeps its time. Returns how many changed."""
    return alerts.filter(acknowledged_at=None).update(acknowledged_at=now)
