"""The kill switch: stop all new entries and (optionally) flatten every book of an account or of a user.
It is stored on the accounts, so it survives restarts until a user releases it."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from brokers.models import BrokerAccount

from ..models import Alert, Execution, Position
from .alerts import alert_raise
from .monitors import exit_create


@transaction.atomic
def kill_switch_engage(
    *, owner, accounts: list[BrokerAccount], flatten: bool, reason: str, now: dt.datetime, send=None
):
    """Block entries on `accounts`; with `flatten`, one MONITOR exit per strategy with open positions there.
    Returns the exits created."""
    ids = [account.pk for account in accounts]
    BrokerAccount.objects.filter(pk__in=ids).update(entries_blocked=True, entries_blocked_reason=reason[:200])
    names = ", ".join(account.client_id for account in accounts)
    alert_raise(
        owner_id=owner.pk,
        kind=Alert.Kind.KILL_SWITCH,
        severity=Alert.Severity.CRITICAL,
        message=f"Kill switch engaged on {names}: {reason}" + ("; flattening every book" if flatten else ""),
    )
    created: list[Execution] = []
    if flatten:
        by_pair: dict = {}
        positions = (
            Position.objects.filter(broker_account_id__in=ids).exclude(net_quantity=0).select_related("strategy")
        )
        for position in positions:
            by_pair.setdefault((position.strategy, position.broker_account_id), []).append(position)
        stamp = now.strftime("%Y%m%d%H%M%S%f")
        for (strategy, account_id), members in by_pair.items():
            execution = exit_create(
                strategy=strategy,
                positions=members,
                key=f"KILL:{strategy.pk}:{account_id}:{stamp}",
                now=now,
                cause={"kind": "KILL_SWITCH", "reason": reason},
            )
            if execution:
                created.append(execution)
        if send is not None:
            for execution in created:
                transaction.on_commit(lambda pk=execution.pk: send(pk, now))
    return created


def kill_switch_release(*, owner, accounts: list[BrokerAccount]) -> None:
    BrokerAccount.objects.filter(pk__in=[a.pk for a in accounts]).update(
        entries_blocked=False, entries_blocked_reason=""
    )
    alert_raise(
        owner_id=owner.pk,
        kind=Alert.Kind.KILL_SWITCH,
        severity=Alert.Severity.INFO,
        message=f"Kill switch released on {', '.join(a.client_id for a in accounts)}",
    )
