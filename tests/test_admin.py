import datetime
import itertools
import json
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from allocations.models import Allocation, LegOverride
from brokers.models import Broker, BrokerAccount, PaperFault, PaperOrder
from execution.models import Alert, Execution, Fill, Order, OrderEvent, Position
from market.models import CalendarHorizon, Holiday, Quote, TradingSession
from strategies.models import Strategy
from tests.factories import (
    AllocationFactory,
    BasketFactory,
    BrokerAccountFactory,
    LegFactory,
    LegOverrideFactory,
    OptionInstrumentFactory,
    StrategyFactory,
    UserFactory,
    iron_condor,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pinned_clock")]

PROJECT_APPS = {"market", "brokers", "baskets", "strategies", "allocations", "execution"}
PROJECT_MODELS = sorted(
    (model for model in admin.site._registry if model._meta.app_label in PROJECT_APPS),
    key=lambda model: model._meta.label,
)
# Trading history is written by the execution engine; the admin shows it and never adds or edits it.
VIEW_ONLY_MODELS = {Execution, Order, OrderEvent, Fill, PaperOrder, Alert}

SECRET = "plaintext-secret-4242"
CREDENTIALS_JSON = json.dumps({"api_key": "kite-key-123", "api_secret": SECRET})


_serial = itertools.count(1)


def make_instrument():
    return OptionInstrumentFactory(strike=Decimal(20000 + 50 * next(_serial)))


def a_date():
    return datetime.date(2026, 1, 1) + datetime.timedelta(days=next(_serial))


def make_execution(status=Execution.Status.SCHEDULED, strategy=None):
    return Execution.objects.create(
        strategy=strategy or StrategyFactory(),
        execution_type=Execution.Type.ENTRY,
        execution_date=datetime.date(2026, 1, 5),
        execution_time=datetime.time(9, 30),
        due_at=datetime.datetime(2026, 1, 5, 4, 0, tzinfo=datetime.UTC),
        status=status,
    )


def make_order():
    execution = make_execution(status=Execution.Status.COMPLETED)
    strategy = execution.strategy
    return Order.objects.create(
        execution=execution,
        strategy=strategy,
        broker_account=BrokerAccountFactory(owner=strategy.owner),
        leg=LegFactory(strategy=strategy, leg_no=1),
        leg_no=1,
        instrument=make_instrument(),
        side="SELL",
        lots=2,
        quantity=130,
        tag=f"E{Order.objects.count() + 1}L1A1",
        broker_order_id="250105000000001",
        status=Order.Status.FILLED,
        filled_quantity=130,
        average_price=Decimal("101.50"),
    )


def make_fill():
    order = make_order()
    return Fill.objects.create(
        order=order,
        strategy=order.strategy,
        broker_account=order.broker_account,
        instrument=order.instrument,
        side=order.side,
        quantity=130,
        price=Decimal("101.50"),
        broker_fill_id="F-1",
        filled_at=timezone.now(),
    )


def make_position():
    strategy = StrategyFactory()
    return Position.objects.create(
        strategy=strategy,
        broker_account=BrokerAccountFactory(owner=strategy.owner),
        instrument=make_instrument(),
        net_quantity=-130,
        average_price=Decimal("101.50"),
    )


MAKERS = {
    "brokers.BrokerAccount": BrokerAccountFactory,
    "market.Instrument": make_instrument,
    "market.Quote": lambda: Quote.objects.create(
        instrument=make_instrument(), ltp=Decimal("101.50"), updated_at=timezone.now()
    ),
    "baskets.Basket": BasketFactory,
    "strategies.Strategy": lambda: iron_condor(),
    "strategies.Leg": LegFactory,
    "allocations.Allocation": AllocationFactory,
    "market.Holiday": lambda: Holiday.objects.create(exchange="NSE", date=a_date(), description="Holiday"),
    # Exchange is unique; the admin tests need up to three rows, so the extra ones use made-up codes.
    "market.CalendarHorizon": lambda: CalendarHorizon.objects.create(
        exchange=f"X{next(_serial) % 1000}", confirmed_until=a_date(), source="test"
    ),
    "market.TradingSession": lambda: TradingSession.objects.create(
        exchange="NSE",
        date=a_date(),
        open_time=datetime.time(18, 0),
        close_time=datetime.time(19, 0),
        note="Muhurat trading",
    ),
    "execution.Execution": make_execution,
    "execution.Order": make_order,
    "execution.Fill": make_fill,
    "execution.OrderEvent": lambda: OrderEvent.objects.create(
        order=make_order(),
        at=timezone.now(),
        from_status="OPEN",
        to_status="FILLED",
        source="poll",
        quantity=130,
        filled_quantity=130,
    ),
    "execution.Position": make_position,
    "execution.Alert": lambda: Alert.objects.create(owner=UserFactory(), kind="MISSED", message="ENTRY never ran"),
    "brokers.PaperOrder": lambda: PaperOrder.objects.create(
        account=BrokerAccountFactory(),
        broker_order_id=f"P{next(_serial)}",
        tag="OPTESTTAG",
        instrument=make_instrument(),
        side="BUY",
        quantity=65,
        order_type="MARKET",
        status="FILLED",
    ),
    "brokers.PaperFault": lambda: PaperFault.objects.create(account=BrokerAccountFactory(), kind="REJECT"),
}


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def seed_001_zerodha_allocation():
    """Seed 001: the iron condor at base 2,2,2,2 and ZERODHA123's leg-level overrides 3,3,1,1."""
    strategy = iron_condor(base_lots=(2, 2, 2, 2))
    allocation = AllocationFactory(
        strategy=strategy,
        broker_account__broker=Broker.ZERODHA,
        broker_account__client_id="ZERODHA123",
        allocation_type=Allocation.Type.LEG_LEVEL,
        strategy_lots_multiplier=None,
    )
    for leg, lots in zip(strategy.legs.order_by("leg_no"), (3, 3, 1, 1), strict=True):
        LegOverrideFactory(allocation=allocation, leg=leg, lots=lots)
    return allocation


def allocation_form_data(allocation, **changes):
    data = {
        "priority": str(allocation.priority),
        "allocation_type": allocation.allocation_type,
        "strategy_lots_multiplier": "" if allocation.strategy_lots_multiplier is None else "1",
        "risk_limits": "{}",
        "execution_config": "{}",
        "status": allocation.status,
        "leg_overrides-TOTAL_FORMS": "0",
        "leg_overrides-INITIAL_FORMS": "0",
        "leg_overrides-MIN_NUM_FORMS": "0",
        "leg_overrides-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    data.update(changes)
    return data


def broker_account_form_data(account, **changes):
    data = {
        "owner": str(account.owner_id),
        "broker": account.broker,
        "client_id": account.client_id,
        "name": account.name,
        "status": account.status,
        "credentials_json": "",
        "_save": "Save",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("model", PROJECT_MODELS, ids=lambda model: model._meta.label)
def test_every_registered_model_changelist_renders(admin_client, model):
    MAKERS[model._meta.label]()

    response = admin_client.get(admin_url(model, "changelist"))

    assert response.status_code == 200


@pytest.mark.parametrize("model", PROJECT_MODELS, ids=lambda model: model._meta.label)
def test_every_registered_model_add_page_renders_unless_it_is_trading_history(admin_client, model):
    response = admin_client.get(admin_url(model, "add"))

    assert response.status_code == (403 if model in VIEW_ONLY_MODELS else 200)


@pytest.mark.parametrize("model", PROJECT_MODELS, ids=lambda model: model._meta.label)
def test_every_registered_model_change_page_renders(admin_client, model):
    obj = MAKERS[model._meta.label]()

    response = admin_client.get(admin_url(model, "change", obj.pk))

    assert response.status_code == 200


@pytest.mark.parametrize("model", PROJECT_MODELS, ids=lambda model: model._meta.label)
def test_every_changelist_runs_the_same_number_of_queries_for_one_row_as_for_three(admin_client, model):
    MAKERS[model._meta.label]()
    url = admin_url(model, "changelist")
    with CaptureQueriesContext(connection) as one_row:
        admin_client.get(url)
    MAKERS[model._meta.label]()
    MAKERS[model._meta.label]()

    with CaptureQueriesContext(connection) as three_rows:
        admin_client.get(url)

    assert len(three_rows) == len(one_row)


def test_every_project_model_is_registered_in_the_admin():
    from django.apps import apps

    models = {model for label in PROJECT_APPS for model in apps.get_app_config(label).get_models()}

    # LegOverride is edited inside its allocation, where its leg and lots are checked against the strategy.
    assert models - set(admin.site._registry) == {LegOverride}


@pytest.mark.parametrize("model", sorted(VIEW_ONLY_MODELS, key=str), ids=lambda model: model._meta.label)
def test_trading_history_change_page_is_view_only(admin_client, model):
    obj = MAKERS[model._meta.label]()

    response = admin_client.get(admin_url(model, "change", obj.pk))

    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()


def test_broker_account_form_stores_credentials_encrypted(admin_client):
    owner = UserFactory()
    data = broker_account_form_data(
        BrokerAccount(owner=owner, broker=Broker.ZERODHA, client_id="ZERODHA123", name="Main"),
        credentials_json=CREDENTIALS_JSON,
    )

    response = admin_client.post(admin_url(BrokerAccount, "add"), data)

    assert response.status_code == 302
    account = BrokerAccount.objects.get(owner=owner, client_id="ZERODHA123")
    assert account.credentials == {"api_key": "kite-key-123", "api_secret": SECRET}
    assert SECRET not in account.credentials_encrypted


def test_broker_account_change_page_never_shows_credentials_set_through_the_form(admin_client):
    account = BrokerAccountFactory(broker=Broker.ZERODHA)
    admin_client.post(
        admin_url(BrokerAccount, "change", account.pk),
        broker_account_form_data(account, credentials_json=CREDENTIALS_JSON),
    )
    account.refresh_from_db()

    body = admin_client.get(admin_url(BrokerAccount, "change", account.pk)).content.decode()

    assert account.has_credentials
    assert SECRET not in body
    assert "kite-key-123" not in body
    assert account.credentials_encrypted not in body
    assert "credentials_encrypted" not in body
    assert "session_token_encrypted" not in body


def test_broker_account_blank_credentials_keep_the_stored_ones(admin_client):
    account = BrokerAccountFactory(broker=Broker.ZERODHA)
    account.credentials = {"api_key": "kite-key-123", "api_secret": SECRET}
    account.save()

    response = admin_client.post(
        admin_url(BrokerAccount, "change", account.pk), broker_account_form_data(account, name="Renamed")
    )

    assert response.status_code == 302
    account.refresh_from_db()
    assert account.name == "Renamed"
    assert account.credentials == {"api_key": "kite-key-123", "api_secret": SECRET}


def test_broker_account_invalid_credentials_json_is_a_form_error(admin_client):
    account = BrokerAccountFactory(broker=Broker.ZERODHA)

    response = admin_client.post(
        admin_url(BrokerAccount, "change", account.pk),
        broker_account_form_data(account, credentials_json='{"api_key": "kite-key-123",'),
    )

    assert response.status_code == 200
    assert "Credentials are not valid JSON" in response.content.decode()
    account.refresh_from_db()
    assert not account.has_credentials


def test_broker_account_form_with_an_error_does_not_echo_the_posted_credentials(admin_client):
    account = BrokerAccountFactory(broker=Broker.ZERODHA)

    response = admin_client.post(
        admin_url(BrokerAccount, "change", account.pk),
        broker_account_form_data(account, client_id="ZERODHA 123", credentials_json=CREDENTIALS_JSON),
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert "Use letters, digits" in body
    assert SECRET not in body


def test_allocation_change_page_shows_final_lots_per_leg_and_total_for_seed_001_zerodha(admin_client):
    allocation = seed_001_zerodha_allocation()

    body = admin_client.get(admin_url(Allocation, "change", allocation.pk)).content.decode()

    assert "L1: 3, L2: 3, L3: 1, L4: 1" in body
    assert '<div class="readonly">8</div>' in body


def test_allocation_changelist_shows_total_lots_without_a_query_per_row(admin_client):
    seed_001_zerodha_allocation()
    url = admin_url(Allocation, "changelist")
    with CaptureQueriesContext(connection) as one_row:
        first = admin_client.get(url)
    for _ in range(4):
        seed_001_zerodha_allocation()

    with CaptureQueriesContext(connection) as five_rows:
        response = admin_client.get(url)

    assert '<td class="field-total_lots_column">8</td>' in first.content.decode()
    assert response.content.decode().count('<td class="field-total_lots_column">8</td>') == 5
    assert len(five_rows) == len(one_row)


def test_allocation_change_page_shows_the_lots_error_instead_of_failing(admin_client):
    strategy = iron_condor(base_lots=(2, 2, 2, 2))
    allocation = AllocationFactory(strategy=strategy, strategy_lots_multiplier=Decimal("0.3"))

    response = admin_client.get(admin_url(Allocation, "change", allocation.pk))

    assert response.status_code == 200
    assert "would trade 0 lots" in response.content.decode()


def test_allocation_strategy_level_with_multiplier_zero_is_refused_with_a_form_error(admin_client):
    allocation = AllocationFactory(strategy=iron_condor(), strategy_lots_multiplier=Decimal("1"))

    response = admin_client.post(
        admin_url(Allocation, "change", allocation.pk),
        allocation_form_data(allocation, allocation_type="STRATEGY_LEVEL", strategy_lots_multiplier="0"),
    )

    assert response.status_code == 200
    assert "The lots multiplier must be greater than 0" in response.content.decode()
    allocation.refresh_from_db()
    assert allocation.strategy_lots_multiplier == Decimal("1")


def test_allocation_strategy_level_without_multiplier_is_refused_with_a_form_error(admin_client):
    allocation = AllocationFactory(
        strategy=iron_condor(), allocation_type=Allocation.Type.LEG_LEVEL, strategy_lots_multiplier=None
    )

    response = admin_client.post(
        admin_url(Allocation, "change", allocation.pk),
        allocation_form_data(allocation, allocation_type="STRATEGY_LEVEL", strategy_lots_multiplier=""),
    )

    assert response.status_code == 200
    assert "A strategy-level allocation needs a lots multiplier" in response.content.decode()
    allocation.refresh_from_db()
    assert allocation.allocation_type == Allocation.Type.LEG_LEVEL


def test_allocation_multiplier_that_floors_a_leg_to_zero_lots_is_refused(admin_client):
    allocation = AllocationFactory(strategy=iron_condor(base_lots=(2, 2, 2, 2)), strategy_lots_multiplier=Decimal("1"))

    response = admin_client.post(
        admin_url(Allocation, "change", allocation.pk),
        allocation_form_data(allocation, strategy_lots_multiplier="0.3"),
    )

    assert response.status_code == 200
    assert "would trade 0 lots" in response.content.decode()
    allocation.refresh_from_db()
    assert allocation.strategy_lots_multiplier == Decimal("1")


def override_form_data(allocation, leg, lots):
    return allocation_form_data(
        allocation,
        **{
            "leg_overrides-TOTAL_FORMS": "1",
            "leg_overrides-0-id": "",
            "leg_overrides-0-allocation": str(allocation.pk),
            "leg_overrides-0-leg": str(leg.pk),
            "leg_overrides-0-lots": str(lots),
            "leg_overrides-0-enabled": "on",
            "leg_overrides-0-notes": "",
        },
    )


def test_allocation_override_for_a_leg_of_another_strategy_is_refused(admin_client):
    allocation = AllocationFactory(
        strategy=iron_condor(), allocation_type=Allocation.Type.LEG_LEVEL, strategy_lots_multiplier=None
    )
    foreign_leg = iron_condor().legs.get(leg_no=1)

    response = admin_client.post(
        admin_url(Allocation, "change", allocation.pk), override_form_data(allocation, foreign_leg, 3)
    )

    assert response.status_code == 200
    assert "that leg belongs to another strategy" in response.content.decode()
    assert not LegOverride.objects.exists()


def test_allocation_override_with_zero_lots_is_refused(admin_client):
    strategy = iron_condor()
    allocation = AllocationFactory(
        strategy=strategy, allocation_type=Allocation.Type.LEG_LEVEL, strategy_lots_multiplier=None
    )

    response = admin_client.post(
        admin_url(Allocation, "change", allocation.pk), override_form_data(allocation, strategy.legs.get(leg_no=1), 0)
    )

    assert response.status_code == 200
    assert "An override trades at least 1 lot" in response.content.decode()
    assert not LegOverride.objects.exists()


def test_allocation_override_saved_through_the_admin_changes_the_final_lots(admin_client):
    strategy = iron_condor(base_lots=(2, 2, 2, 2))
    allocation = AllocationFactory(
        strategy=strategy, allocation_type=Allocation.Type.LEG_LEVEL, strategy_lots_multiplier=None
    )

    response = admin_client.post(
        admin_url(Allocation, "change", allocation.pk), override_form_data(allocation, strategy.legs.get(leg_no=1), 3)
    )

    assert response.status_code == 302
    body = admin_client.get(admin_url(Allocation, "change", allocation.pk)).content.decode()
    assert "L1: 3, L2: 2, L3: 2, L4: 2" in body


def test_strategy_change_page_summarises_its_allocations_read_only(admin_client):
    allocation = seed_001_zerodha_allocation()

    body = admin_client.get(admin_url(Strategy, "change", allocation.strategy.pk)).content.decode()

    assert "L1: 3, L2: 3, L3: 1, L4: 1 (total 8)" in body


def test_pause_action_pauses_only_active_strategies(admin_client):
    active = StrategyFactory(status=Strategy.Status.ACTIVE)
    archived = StrategyFactory(status=Strategy.Status.ARCHIVED)

    response = admin_client.post(
        admin_url(Strategy, "changelist"),
        {"action": "pause_strategies", ACTION_CHECKBOX_NAME: [active.pk, archived.pk]},
        follow=True,
    )

    active.refresh_from_db()
    archived.refresh_from_db()
    assert (active.status, archived.status) == (Strategy.Status.PAUSED, Strategy.Status.ARCHIVED)
    assert "Paused 1 strategy. 1 selected were not ACTIVE and were left unchanged." in response.content.decode()


def test_cancel_action_cancels_only_scheduled_executions(admin_client):
    scheduled = make_execution(status=Execution.Status.SCHEDULED)
    running = make_execution(status=Execution.Status.IN_PROGRESS)
    done = make_execution(status=Execution.Status.COMPLETED)

    response = admin_client.post(
        admin_url(Execution, "changelist"),
        {"action": "cancel_scheduled", ACTION_CHECKBOX_NAME: [scheduled.pk, running.pk, done.pk]},
        follow=True,
    )

    statuses = {execution.pk: execution.status for execution in Execution.objects.all()}
    assert statuses == {
        scheduled.pk: Execution.Status.CANCELLED,
        running.pk: Execution.Status.IN_PROGRESS,
        done.pk: Execution.Status.COMPLETED,
    }
    assert (
        "Cancelled 1 scheduled execution. 2 selected were not SCHEDULED and were left unchanged."
        in response.content.decode()
    )


def test_trading_session_closing_before_it_opens_is_a_form_error(admin_client):
    response = admin_client.post(
        admin_url(TradingSession, "add"),
        {"exchange": "NSE", "date": "2026-11-08", "open_time": "19:00", "close_time": "18:00", "_save": "Save"},
    )

    assert response.status_code == 200
    assert "The session must close after it opens." in response.content.decode()
    assert not TradingSession.objects.exists()


def test_allocation_added_with_an_override_on_another_strategys_leg_is_refused(admin_client):
    strategy = iron_condor()
    account = BrokerAccountFactory(owner=strategy.owner)
    foreign_leg = iron_condor().legs.get(leg_no=1)
    new = Allocation(strategy=strategy, broker_account=account, allocation_type=Allocation.Type.LEG_LEVEL)
    data = override_form_data(new, foreign_leg, 3)
    data.update({"strategy": str(strategy.pk), "broker_account": str(account.pk), "leg_overrides-0-allocation": ""})

    response = admin_client.post(admin_url(Allocation, "add"), data)

    assert response.status_code == 200
    assert "Choose one of its own legs." in response.content.decode()
    assert not Allocation.objects.exists()


def test_strategy_switched_to_mis_in_the_admin_becomes_intraday(admin_client):
    strategy = StrategyFactory(product=Strategy.Product.NRML)
    data = {
        "owner": str(strategy.owner_id),
        "basket": str(strategy.basket_id),
        "strategy_name": strategy.strategy_name,
        "description": "",
        "underlying": "NIFTY",
        "product": "MIS",
        "category": strategy.category,
        "entry_time": "09:30",
        "exit_time": "15:15",
        "entry_days": ["MONDAY", "TUESDAY"],
        "exit_days": ["MONDAY", "TUESDAY"],
        "status": "ACTIVE",
        "on_failed_entry": "UNWIND",
        "archived_at_0": "",
        "archived_at_1": "",
        "_save": "Save",
    }
    for prefix in ("legs", "allocations"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"})

    response = admin_client.post(admin_url(Strategy, "change", strategy.pk), data)

    assert response.status_code == 302
    strategy.refresh_from_db()
    assert strategy.is_intra_day
    assert strategy.entry_days == ["MONDAY", "TUESDAY"]


def test_allocation_pages_show_seed_001_angel_one_10_lots(admin_client):
    strategy = iron_condor(base_lots=(2, 2, 2, 2))
    allocation = AllocationFactory(
        strategy=strategy, allocation_type=Allocation.Type.LEG_LEVEL, strategy_lots_multiplier=None
    )
    for leg, lots in zip(strategy.legs.order_by("leg_no"), (1, 1, 4, 4), strict=True):
        LegOverrideFactory(allocation=allocation, leg=leg, lots=lots)

    body = admin_client.get(admin_url(Allocation, "change", allocation.pk)).content.decode()

    assert "L1: 1, L2: 1, L3: 4, L4: 4" in body
    assert '<div class="readonly">10</div>' in body


@pytest.mark.parametrize(
    "multiplier, per_leg, total", [("1.5", "L1: 3, L2: 4, L3: 1, L4: 3", 11), ("2.0", "L1: 4, L2: 6, L3: 2, L4: 4", 16)]
)
def test_allocation_pages_show_seed_002_multiplier_figures(admin_client, multiplier, per_leg, total):
    allocation = AllocationFactory(
        strategy=iron_condor(base_lots=(2, 3, 1, 2)), strategy_lots_multiplier=Decimal(multiplier)
    )

    body = admin_client.get(admin_url(Allocation, "change", allocation.pk)).content.decode()

    assert per_leg in body
    assert f'<div class="readonly">{total}</div>' in body
