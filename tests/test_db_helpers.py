"""config.db: the UNNEST insert and update write exactly what bulk_create and bulk_update would."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError

from brokers.models import PaperOrder
from config.db import bulk_insert, bulk_update
from execution.models import Execution
from market.models import Instrument
from tests.factories import BrokerAccountFactory, StrategyFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    return BrokerAccountFactory(owner=UserFactory())


@pytest.fixture
def instrument():
    return Instrument.objects.create(
        exchange="NFO", tradingsymbol="NIFTY26112426000CE", kind="OPTION", underlying="NIFTY",
        expiry=dt.date(2026, 11, 24), strike=26000, option_type="CE", lot_size=65,
    )  # fmt: skip


def paper(account, instrument, n, prefix="P", **extra):
    return PaperOrder(
        account=account,
        broker_order_id=f"{prefix}{n}",
        tag=f"TAG{n}",
        instrument=instrument,
        side="BUY" if n % 2 else "SELL",
        quantity=65 * n,
        order_type="LIMIT" if n % 3 == 0 else "MARKET",
        limit_price=Decimal("101.35") if n % 3 == 0 else None,
        status="FILLED",
        filled_quantity=65 * n,
        average_price=Decimal("100.05") + n,
        fills=[{"id": f"P{n}-1", "quantity": 65 * n, "price": "100.05", "note": 'quote "and" comma, {x}'}],
        **extra,
    )


def rows(queryset, fields):
    return sorted(queryset.values_list(*fields))


FIELDS = ["broker_order_id", "tag", "side", "quantity", "order_type", "limit_price", "status", "filled_quantity",
          "average_price", "fills", "message"]  # fmt: skip


def test_bulk_insert_writes_what_bulk_create_writes(account, instrument):
    other = BrokerAccountFactory(owner=account.owner, client_id="OTHER1")
    bulk_insert([paper(account, instrument, n) for n in range(1, 7)])
    PaperOrder.objects.bulk_create([paper(other, instrument, n, prefix="Q") for n in range(1, 7)])
    ours = rows(PaperOrder.objects.filter(account=account), FIELDS[1:])
    theirs = rows(PaperOrder.objects.filter(account=other), FIELDS[1:])
    assert len(ours) == 6 and ours == theirs
    assert ours[0][8][0]["note"] == 'quote "and" comma, {x}'
    assert PaperOrder.objects.filter(account=account, created_at__isnull=True).count() == 0


def test_bulk_insert_ignores_conflicts_only_when_asked(account, instrument):
    bulk_insert([paper(account, instrument, 1)])
    bulk_insert([paper(account, instrument, 1), paper(account, instrument, 2)], ignore_conflicts=True)
    assert PaperOrder.objects.count() == 2
    with pytest.raises(IntegrityError):
        bulk_insert([paper(account, instrument, 2)])


def test_bulk_update_writes_every_field_named_and_no_other():
    strategy = StrategyFactory(owner=UserFactory())
    due = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)
    executions = [
        Execution.objects.create(
            strategy=strategy, execution_type=kind, execution_date=due.date(), execution_time=dt.time(9, 30),
            due_at=due, error="before",
        )
        for kind in ("ENTRY", "EXIT")
    ]  # fmt: skip
    executions[0].status, executions[0].execution_results = "COMPLETED", {"broker_executions": [{"a": "x'y\"z"}]}
    executions[1].status, executions[1].completed_at = "FAILED", due + dt.timedelta(seconds=1)
    for execution in executions:
        execution.error = "not written: not named"
    assert bulk_update(executions, ["status", "execution_results", "completed_at"]) == 2
    stored = {e.execution_type: e for e in Execution.objects.all()}
    assert stored["ENTRY"].status == "COMPLETED" and stored["EXIT"].status == "FAILED"
    assert stored["ENTRY"].execution_results == {"broker_executions": [{"a": "x'y\"z"}]}
    assert stored["EXIT"].completed_at == due + dt.timedelta(seconds=1) and stored["ENTRY"].completed_at is None
    assert {e.error for e in stored.values()} == {"before"}


def test_rows_for_keys_finds_exactly_the_keyed_rows_in_key_order(account, instrument):
    from config.db import rows_for_keys

    other = BrokerAccountFactory(owner=account.owner, client_id="OTHER2")
    bulk_insert([paper(account, instrument, n) for n in range(1, 5)] + [paper(other, instrument, 1, prefix="Q")])
    keys = [(account.pk, "TAG3"), (other.pk, "TAG1"), (account.pk, "TAG9"), (account.pk, "TAG1")]
    found = rows_for_keys(PaperOrder, ["account_id", "tag"], keys)
    assert [(o.account_id, o.tag, o.broker_order_id) for o in found] == [
        (account.pk, "TAG3", "P3"),
        (other.pk, "TAG1", "Q1"),
        (account.pk, "TAG1", "P1"),
    ]
    cutoff = PaperOrder.objects.get(broker_order_id="P3").created_at
    PaperOrder.objects.filter(broker_order_id="P1").update(created_at=cutoff - dt.timedelta(days=1))
    recent = rows_for_keys(PaperOrder, ["account_id", "tag"], keys, since=("created_at", cutoff), lock=True)
    assert [o.broker_order_id for o in recent] == ["P3", "Q1"]
    assert rows_for_keys(PaperOrder, ["account_id", "tag"], []) == []
