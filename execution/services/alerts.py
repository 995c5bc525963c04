"""Alerts the engine raises: one factory, so every alert carries its owner, strategy and execution the same
way."""

from __future__ import annotations

from ..models import Alert, Execution


def new_alert(execution: Execution, kind: str, message: str, *, account=None, severity="WARNING") -> Alert:
    return Alert(
        owner_id=execution.strategy.owner_id,
        kind=kind,
        severity=severity,
        message=message,
        strategy_id=execution.strategy_id,
        execution=execution,
        broker_account=account,
    )
