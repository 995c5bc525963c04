"""config.db: the UNNEST insert and update write exactly what bulk_create and bulk_update would, refuse what
they would refuse, and fall back to them on SQLite."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db import DataError, IntegrityError, transaction

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


# Over-long strings, all-NULL columns, the quote upsert's SQL, and the fallbacks on other databases


def test_bulk_insert_refuses_an_over_long_string_as_an_insert_would(account, instrument):
    order = paper(account, instrument, 1)
    order.tag = "T" * 30  # the column is varchar(20): the old varchar(20)[] cast cut this to 20 characters
    with pytest.raises(DataError), transaction.atomic():
        bulk_insert([order])
    assert not PaperOrder.objects.exists()


def test_bulk_update_refuses_an_over_long_string_as_an_update_would(account, instrument):
    bulk_insert([paper(account, instrument, 1)])
    order = PaperOrder.objects.get()
    order.message = "M" * 201  # varchar(200)
    with pytest.raises(DataError), transaction.atomic():
        bulk_update([order], ["message"])
    assert PaperOrder.objects.get().message == ""


def test_a_string_of_exactly_the_column_length_is_written_whole(account, instrument):
    order = paper(account, instrument, 1)
    order.tag = "T" * 20
    bulk_insert([order])
    stored = PaperOrder.objects.get()
    stored.message = "M" * 200
    bulk_update([stored], ["message"])
    assert PaperOrder.objects.values_list("tag", "message").get() == ("T" * 20, "M" * 200)


def test_a_column_of_only_nulls_is_written_as_nulls(account, instrument):
    orders = [paper(account, instrument, n) for n in (1, 2)]  # n % 3 != 0: no limit price on either
    for order in orders:
        order.average_price = None
    bulk_insert(orders)
    assert set(PaperOrder.objects.values_list("limit_price", "average_price")) == {(None, None)}
    stored = list(PaperOrder.objects.order_by("broker_order_id"))
    for order in stored:
        order.average_price, order.limit_price = Decimal("100.05"), None
    bulk_update(stored, ["average_price", "limit_price"])
    assert set(PaperOrder.objects.values_list("limit_price", "average_price")) == {(None, Decimal("100.05"))}


def test_the_quote_upsert_quotes_identifiers_and_casts_to_base_types(instrument):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from market.feed import Tick, quotes_upsert
    from market.models import Quote

    at = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)
    with CaptureQueriesContext(connection) as queries:
        quotes_upsert(ticks=[Tick(instrument.pk, Decimal("101.05"), oi=None)], at=at)
        quotes_upsert(ticks=[Tick(instrument.pk, Decimal("102.10"), Decimal("102"), Decimal("102.2"))], at=at)
    sql = queries.captured_queries[0]["sql"]
    assert len(queries.captured_queries) == 2
    assert 'INSERT INTO "brokers_quote" ("instrument_id", "ltp"' in sql and 'ON CONFLICT ("instrument_id")' in sql
    assert "numeric(" not in sql and "varchar(" not in sql
    assert Quote.objects.values_list("ltp", "bid", "ask", "oi").get() == (
        Decimal("102.10"), Decimal("102.00"), Decimal("102.20"), None,
    )  # fmt: skip


SQLITE_SCRIPT = r"""
import datetime as dt, json, os
from decimal import Decimal
import django
django.setup()
from django.contrib.auth import get_user_model
from django.db import connection
from brokers.models import BrokerAccount, PaperOrder
from config.db import bulk_insert, bulk_insert_new, bulk_update, rows_for_keys
from market.models import Instrument

assert connection.vendor == "sqlite"
with connection.schema_editor() as editor:
    for model in (get_user_model(), BrokerAccount, Instrument, PaperOrder):
        editor.create_model(model)
user = get_user_model().objects.create(username="u")
account = BrokerAccount.objects.create(owner=user, client_id="PAPER1")
instrument = Instrument.objects.create(exchange="NFO", tradingsymbol="X", kind="OPTION", underlying="NIFTY",
    expiry=dt.date(2026, 11, 24), strike=26000, option_type="CE")
orders = [PaperOrder(account=account, broker_order_id=f"P{n}", tag=f"TAG{n}", instrument=instrument, side="BUY",
    quantity=65, order_type="MARKET", limit_price=None, status="OPEN", fills=[]) for n in (1, 2, 3)]
result = {"inserted": bulk_insert(orders), "again": bulk_insert(orders[:1], ignore_conflicts=True)}
stored = list(PaperOrder.objects.order_by("broker_order_id"))
for order in stored:
    order.status, order.filled_quantity, order.average_price = "FILLED", 65, Decimal("100.05")
result["updated"] = bulk_update(stored, ["status", "filled_quantity", "average_price"])
result["rows"] = [list(map(str, row)) for row in PaperOrder.objects.order_by("broker_order_id").values_list(
    "broker_order_id", "status", "filled_quantity", "average_price", "limit_price")]
found = rows_for_keys(PaperOrder, ["account_id", "tag"], [(account.pk, "TAG3"), (account.pk, "NONE"), (account.pk, "TAG1")],
    lock=True)
result["found"] = sorted(o.broker_order_id for o in found)
again = [PaperOrder(account=account, broker_order_id=f"P{n}", tag=f"TAG{n}", instrument=instrument, side="BUY",
    quantity=65, order_type="MARKET", limit_price=None, status="OPEN", fills=[]) for n in (1, 4)]
result["new"] = [o.broker_order_id for o in bulk_insert_new(again, unique=["account_id", "tag"])]
result["count"] = PaperOrder.objects.count()
print(json.dumps(result))
"""


def test_the_helpers_fall_back_to_the_orm_on_sqlite():
    """The embedded default runs on SQLite: there the helpers are bulk_create, bulk_update and an OR of keys."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "DATABASE_URL": "sqlite://:memory:", "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    done = subprocess.run(
        [sys.executable, "-c", SQLITE_SCRIPT], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["inserted"] == 3 and result["again"] is None and result["updated"] == 3
    assert result["rows"] == [[f"P{n}", "FILLED", "65", "100.05", "None"] for n in (1, 2, 3)]
    assert result["found"] == ["P1", "P3"]
    assert result["new"] == ["P4"] and result["count"] == 4  # TAG1 was there: only TAG4 went in


def _fields(obj) -> dict:
    return {k: v for k, v in obj.__dict__.items() if k != "_state"}


def test_build_makes_the_instance_the_model_would(account, instrument):
    """build(model, **values) is model(**values): every default, the values, related objects cached, unsaved."""
    from config.db import build
    from execution.models import Fill, Order, OrderEvent, Position

    strategy = StrategyFactory(owner=account.owner)
    execution = Execution.objects.create(
        strategy=strategy, execution_type="ENTRY", execution_date=dt.date(2026, 11, 20),
        execution_time=dt.time(9, 30), due_at=dt.datetime(2026, 11, 20, 4, 0, tzinfo=dt.UTC),
    )  # fmt: skip
    order_values = dict(
        execution=execution, strategy_id=strategy.pk, broker_account=account, leg=None, leg_no=2,
        instrument_id=instrument.pk, side="SELL", lots=3, quantity=195, order_type="LIMIT",
        limit_price=Decimal("101.35"), tag="E1-A1-L2-0", slice_no=0, sequence=4,
    )  # fmt: skip
    cases = [
        (Order, order_values),
        (PaperOrder, dict(account=account, broker_order_id="P1", tag="T", instrument=instrument, side="BUY",
                          quantity=65, order_type="MARKET", limit_price=None, status="OPEN")),
        (Position, dict(strategy_id=strategy.pk, broker_account_id=account.pk, instrument_id=instrument.pk)),
    ]  # fmt: skip
    for model, values in cases:
        built, made = build(model, **values), model(**values)
        assert type(built) is model and built._state.adding and built._state.db == made._state.db
        assert {**_fields(built), "id": None} == {**_fields(made), "id": None}, model
    order, other = build(Order, **order_values), build(Order, **{**order_values, "tag": "E1-A1-L2-1"})
    assert isinstance(order.pk, uuid.UUID) and order.pk != other.pk  # a callable default, called for each
    assert order.execution is execution and order.broker_account is account and order.leg is None
    assert order.execution_id == execution.pk and order.broker_account_id == account.pk
    at = dt.datetime(2026, 11, 20, 4, 0, 1, tzinfo=dt.UTC)
    event = build(
        OrderEvent, order=order, at=at, from_status="PENDING", to_status="SENT", source="placement", quantity=195
    )
    fill = build(Fill, order=order, quantity=65, price=Decimal("100.05"), broker_fill_id="F1")
    assert event.order is order and event.order_id == order.pk and fill.order is order
    order.save()
    event.save()
    assert OrderEvent.objects.get().to_status == "SENT"


def test_build_goes_through_the_model_for_what_it_does_not_know(account):
    """A name that is not a field, or a model with init receivers, is left to Model.__init__ (which raises, or
    runs the receivers) instead of being set silently."""
    from django.db.models.signals import post_init

    from config.db import build

    with pytest.raises(TypeError, match="unexpected keyword"):
        build(PaperOrder, account=account, no_such_field=1)
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(receiver, sender=PaperOrder)
    try:
        built = build(PaperOrder, account=account, tag="T")
    finally:
        post_init.disconnect(receiver, sender=PaperOrder)
    assert seen == [built]
