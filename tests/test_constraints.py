"""The database itself refuses rows that break the domain's rules, whatever Python-side validation is skipped.

Rows are written with `objects.create`, `bulk_create` and `QuerySet.update`, none of which run `full_clean()`,
so each refusal below comes from a constraint in the schema.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone

from allocations.models import Allocation, LegOverride
from baskets.models import Basket
from brokers.models import BrokerAccount, PaperOrder
from execution.models import Execution, Fill, Order, Position
from market.models import Holiday, Instrument, Quote, TradingSession
from strategies.models import Leg, Strategy
from tests.factories import (
    AllocationFactory,
    BasketFactory,
    BrokerAccountFactory,
    LegFactory,
    OptionInstrumentFactory,
    StrategyFactory,
    UserFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pinned_clock")]
DAY = dt.date(2026, 11, 23)


def refused(write, error=IntegrityError):
    # The savepoint keeps the test's transaction usable after the database refuses the write.
    with pytest.raises(error), transaction.atomic():
        write()


def create_execution(strategy, *, trigger="SCHEDULED", execution_type="ENTRY", **changes):
    values = {
        "strategy": strategy,
        "execution_type": execution_type,
        "execution_date": DAY,
        "execution_time": dt.time(9, 30),
        "due_at": timezone.now(),
        "trigger": trigger,
    }
    return Execution.objects.create(**{**values, **changes})


@pytest.fixture
def strategy():
    return StrategyFactory()


@pytest.fixture
def account(strategy):
    return BrokerAccountFactory(owner=strategy.owner)


@pytest.fixture
def instrument():
    return OptionInstrumentFactory()


@pytest.fixture
def order(strategy, account, instrument):
    return Order.objects.create(
        execution=create_execution(strategy, trigger="MANUAL"),
        strategy=strategy,
        broker_account=account,
        leg_no=1,
        instrument=instrument,
        side="SELL",
        lots=1,
        quantity=65,
        tag="OP1",
    )


def order_like(order, **changes):
    """An unsaved copy of `order` with a fresh tag, for bulk_create."""
    fields = ("execution", "strategy", "broker_account", "leg_no", "instrument", "side", "lots", "quantity")
    return Order(**{**{name: getattr(order, name) for name in fields}, "tag": "OP2", **changes})


def fill_values(order, **changes):
    values = {
        "order": order,
        "strategy": order.strategy,
        "broker_account": order.broker_account,
        "instrument": order.instrument,
        "side": order.side,
        "quantity": 65,
        "price": Decimal("101.50"),
        "broker_fill_id": "FILL-1",
        "filled_at": timezone.now(),
    }
    return {**values, **changes}


# brokers.BrokerAccount


def test_an_owner_cannot_hold_two_accounts_with_the_same_client_id():
    existing = BrokerAccountFactory(client_id="ZERODHA123")
    refused(lambda: BrokerAccount.objects.create(owner=existing.owner, client_id="ZERODHA123"))


def test_two_owners_may_each_hold_an_account_with_the_same_client_id():
    BrokerAccountFactory(client_id="ZERODHA123")
    BrokerAccount.objects.create(owner=UserFactory(), client_id="ZERODHA123")
    assert BrokerAccount.objects.filter(client_id="ZERODHA123").count() == 2


def test_an_account_cannot_have_an_empty_client_id():
    refused(lambda: BrokerAccount.objects.create(owner=UserFactory(), client_id=""))


# market.Instrument


def test_a_tradingsymbol_is_unique_within_an_exchange(instrument):
    refused(
        lambda: Instrument.objects.bulk_create(
            [Instrument(exchange="NFO", tradingsymbol=instrument.tradingsymbol, kind="INDEX", underlying="NIFTY")]
        )
    )


def test_the_same_tradingsymbol_may_exist_on_two_exchanges(instrument):
    Instrument.objects.create(exchange="BFO", tradingsymbol=instrument.tradingsymbol, kind="INDEX", underlying="NIFTY")
    assert Instrument.objects.filter(tradingsymbol=instrument.tradingsymbol).count() == 2


def test_an_instrument_lot_size_cannot_be_zero(instrument):
    refused(lambda: Instrument.objects.filter(pk=instrument.pk).update(lot_size=0))


def test_an_option_without_expiry_strike_and_type_is_refused():
    refused(
        lambda: Instrument.objects.create(exchange="NFO", tradingsymbol="NIFTYX", kind="OPTION", underlying="NIFTY")
    )


def test_a_quote_price_cannot_be_negative(instrument):
    refused(lambda: Quote.objects.create(instrument=instrument, ltp=Decimal("-0.05"), updated_at=timezone.now()))


def test_the_paper_broker_refuses_a_second_order_with_the_same_tag_on_an_account(account, instrument):
    values = {"account": account, "tag": "OP1", "instrument": instrument, "side": "BUY", "quantity": 65}
    values |= {"order_type": "MARKET", "status": "OPEN"}
    PaperOrder.objects.create(broker_order_id="P1", **values)
    refused(lambda: PaperOrder.objects.create(broker_order_id="P2", **values))


# baskets.Basket


def test_a_deployable_percentage_above_100_is_refused():
    basket = BasketFactory()
    refused(lambda: Basket.objects.filter(pk=basket.pk).update(deployable_percentage=Decimal("100.01")))


def test_a_negative_deployable_percentage_is_refused():
    basket = BasketFactory()
    refused(lambda: Basket.objects.filter(pk=basket.pk).update(deployable_percentage=Decimal("-1")))


def test_a_deployable_percentage_of_exactly_0_or_100_is_accepted():
    basket = BasketFactory()
    Basket.objects.filter(pk=basket.pk).update(deployable_percentage=0)
    Basket.objects.filter(pk=basket.pk).update(deployable_percentage=100)
    assert Basket.objects.get(pk=basket.pk).deployable_percentage == 100


def test_a_negative_initial_capital_is_refused():
    basket = BasketFactory()
    refused(lambda: Basket.objects.filter(pk=basket.pk).update(initial_capital=Decimal("-1")))


# strategies.Strategy and Leg


def test_an_nrml_strategy_cannot_be_marked_intraday(strategy):
    # Strategy.save() derives is_intra_day from product, so only a bulk update can disagree with it.
    refused(lambda: Strategy.objects.filter(pk=strategy.pk).update(is_intra_day=True))


def test_an_mis_strategy_cannot_be_marked_positional():
    strategy = StrategyFactory(product="MIS")
    refused(lambda: Strategy.objects.filter(pk=strategy.pk).update(is_intra_day=False))


def test_a_strategy_cannot_have_two_legs_with_the_same_number(strategy):
    LegFactory(strategy=strategy, leg_no=1)
    refused(lambda: Leg.objects.bulk_create([LegFactory.build(strategy=strategy, leg_no=1)]))


def test_a_leg_cannot_have_zero_lots():
    leg = LegFactory()
    refused(lambda: Leg.objects.filter(pk=leg.pk).update(lots=0))


def test_a_leg_number_cannot_be_zero():
    leg = LegFactory()
    refused(lambda: Leg.objects.filter(pk=leg.pk).update(leg_no=0))


# allocations.Allocation and LegOverride


def test_a_strategy_cannot_be_allocated_twice_to_the_same_account():
    allocation = AllocationFactory()
    refused(
        lambda: Allocation.objects.create(
            strategy=allocation.strategy, broker_account=allocation.broker_account, strategy_lots_multiplier=2
        )
    )


def test_a_zero_lots_multiplier_is_refused():
    allocation = AllocationFactory()
    refused(lambda: Allocation.objects.filter(pk=allocation.pk).update(strategy_lots_multiplier=0))


def test_a_negative_lots_multiplier_is_refused():
    allocation = AllocationFactory()
    refused(lambda: Allocation.objects.filter(pk=allocation.pk).update(strategy_lots_multiplier=Decimal("-0.5")))


def test_a_strategy_level_allocation_needs_a_multiplier():
    allocation = AllocationFactory(allocation_type="STRATEGY_LEVEL")
    refused(lambda: Allocation.objects.filter(pk=allocation.pk).update(strategy_lots_multiplier=None))


def test_a_leg_level_allocation_may_have_no_multiplier():
    allocation = AllocationFactory(allocation_type="LEG_LEVEL", strategy_lots_multiplier=None)
    assert Allocation.objects.get(pk=allocation.pk).strategy_lots_multiplier is None


def test_an_allocation_cannot_override_the_same_leg_twice():
    allocation = AllocationFactory(allocation_type="LEG_LEVEL")
    leg = LegFactory(strategy=allocation.strategy, leg_no=1)
    LegOverride.objects.create(allocation=allocation, leg=leg, lots=2)
    refused(lambda: LegOverride.objects.create(allocation=allocation, leg=leg, lots=3))


def test_a_leg_override_cannot_have_zero_lots():
    allocation = AllocationFactory(allocation_type="LEG_LEVEL")
    leg = LegFactory(strategy=allocation.strategy, leg_no=1)
    override = LegOverride.objects.create(allocation=allocation, leg=leg, lots=2)
    refused(lambda: LegOverride.objects.filter(pk=override.pk).update(lots=0))


# market calendar


def test_an_exchange_has_at_most_one_holiday_row_per_date():
    Holiday.objects.create(exchange="NSE", date=dt.date(2026, 1, 26))
    refused(lambda: Holiday.objects.create(exchange="NSE", date=dt.date(2026, 1, 26), description="again"))


def test_an_exchange_has_at_most_one_session_row_per_date():
    hours = {"open_time": dt.time(9, 15), "close_time": dt.time(15, 30)}
    TradingSession.objects.create(exchange="NSE", date=dt.date(2026, 11, 8), **hours)
    refused(lambda: TradingSession.objects.create(exchange="NSE", date=dt.date(2026, 11, 8), **hours))


def test_a_session_that_closes_before_it_opens_is_refused():
    refused(
        lambda: TradingSession.objects.create(
            exchange="BSE", date=dt.date(2026, 11, 8), open_time=dt.time(15, 0), close_time=dt.time(9, 0)
        )
    )


def test_a_session_that_closes_when_it_opens_is_refused():
    refused(
        lambda: TradingSession.objects.create(
            exchange="BSE", date=dt.date(2026, 11, 8), open_time=dt.time(9, 15), close_time=dt.time(9, 15)
        )
    )


# execution.Execution


def test_a_second_scheduled_execution_for_the_same_strategy_type_and_date_is_refused(strategy):
    create_execution(strategy)
    refused(lambda: create_execution(strategy))


def test_manual_executions_for_the_same_strategy_type_and_date_may_repeat(strategy):
    create_execution(strategy, trigger="MANUAL")
    create_execution(strategy, trigger="MANUAL")
    assert Execution.objects.filter(strategy=strategy, trigger="MANUAL", execution_date=DAY).count() == 2


def test_a_manual_execution_may_sit_beside_the_scheduled_one_for_that_day(strategy):
    create_execution(strategy)
    create_execution(strategy, trigger="MANUAL")
    assert Execution.objects.filter(strategy=strategy, execution_date=DAY).count() == 2


def test_a_scheduled_entry_and_a_scheduled_exit_may_share_a_date(strategy):
    create_execution(strategy, execution_type="ENTRY")
    create_execution(strategy, execution_type="EXIT")
    assert Execution.objects.filter(strategy=strategy, trigger="SCHEDULED").count() == 2


def test_a_monitor_cause_triggers_at_most_one_execution(strategy):
    create_execution(strategy, trigger="MONITOR", dedupe_key="stop-loss:leg-1")
    refused(lambda: create_execution(strategy, trigger="MONITOR", dedupe_key="stop-loss:leg-1"))


# execution.Order


def test_an_order_tag_is_never_reused(order):
    refused(lambda: Order.objects.bulk_create([order_like(order, tag=order.tag)]))


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite does not enforce VARCHAR lengths")
def test_an_order_tag_longer_than_20_characters_is_refused(order):
    # A length overflow is a DataError, not an IntegrityError: the column type refuses it, not a constraint.
    refused(lambda: Order.objects.bulk_create([order_like(order, tag="X" * 21)]), error=DataError)


def test_an_order_for_zero_quantity_is_refused(order):
    refused(lambda: Order.objects.bulk_create([order_like(order, quantity=0)]))


def test_an_order_cannot_be_filled_beyond_its_quantity(order):
    refused(lambda: Order.objects.filter(pk=order.pk).update(filled_quantity=order.quantity + 1))


# execution.Fill and Position


def test_a_broker_fill_is_recorded_once_per_order(order):
    Fill.objects.create(**fill_values(order))
    refused(lambda: Fill.objects.create(**fill_values(order)))


def test_a_fill_for_zero_quantity_is_refused(order):
    refused(lambda: Fill.objects.create(**fill_values(order, quantity=0)))


def test_a_strategy_has_one_position_per_account_and_instrument(strategy, account, instrument):
    Position.objects.create(strategy=strategy, broker_account=account, instrument=instrument, net_quantity=-65)
    refused(lambda: Position.objects.create(strategy=strategy, broker_account=account, instrument=instrument))


def test_two_strategies_keep_separate_positions_on_the_same_account_and_instrument(strategy, account, instrument):
    other = StrategyFactory(owner=strategy.owner)
    Position.objects.create(strategy=strategy, broker_account=account, instrument=instrument, net_quantity=-65)
    Position.objects.create(strategy=other, broker_account=account, instrument=instrument, net_quantity=130)
    books = Position.objects.filter(broker_account=account, instrument=instrument)
    assert sorted(books.values_list("net_quantity", flat=True)) == [-65, 130]
