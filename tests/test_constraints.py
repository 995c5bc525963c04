"""The database itself refuses rows that break the domain's rules (one test per constraint)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from allocations.models import Allocation, LegOverride
from baskets.models import Basket
from brokers.models import BrokerAccount, Instrument
from execution.models import Execution, Fill, Holiday, Order, Position, TradingSession
from strategies.models import Leg, Strategy
from tests.factories import (
    AllocationFactory,
    BasketFactory,
    BrokerAccountFactory,
    LegFactory,
    OptionInstrumentFactory,
    StrategyFactory,
)

pytestmark = pytest.mark.django_db


def refused(make):
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


def execution(strategy, trigger="SCHEDULED"):
    return Execution.objects.create(
        strategy=strategy,
        execution_type="ENTRY",
        execution_date=dt.date(2026, 11, 23),
        execution_time=dt.time(9, 30),
        due_at=timezone.now(),
        trigger=trigger,
    )


def order(tag="OPTAG1", **changes):
    strategy = changes.pop("strategy", None) or StrategyFactory()
    values = {
        "execution": execution(strategy, "MANUAL"),
        "strategy": strategy,
        "broker_account": BrokerAccountFactory(owner=strategy.owner),
        "leg_no": 1,
        "instrument": OptionInstrumentFactory(strike=Decimal(26000 + 50 * Order.objects.count())),
        "side": "BUY",
        "lots": 1,
        "quantity": 65,
        "tag": tag,
    }
    values.update(changes)
    return Order.objects.create(**values)


def test_client_id_is_unique_per_owner():
    account = BrokerAccountFactory(client_id="ZERODHA123")
    refused(lambda: BrokerAccount.objects.create(owner=account.owner, client_id="ZERODHA123"))


def test_instrument_symbol_is_unique_per_exchange_and_lot_size_positive():
    instrument = OptionInstrumentFactory()
    refused(lambda: OptionInstrumentFactory(tradingsymbol=instrument.tradingsymbol))
    refused(lambda: Instrument.objects.filter(pk=instrument.pk).update(lot_size=0))


def test_an_option_needs_expiry_strike_and_type():
    refused(lambda: Instrument.objects.create(exchange="NFO", tradingsymbol="X", kind="OPTION", underlying="NIFTY"))


def test_deployable_percentage_stays_between_0_and_100():
    basket = BasketFactory()
    refused(lambda: Basket.objects.filter(pk=basket.pk).update(deployable_percentage=101))
    refused(lambda: Basket.objects.filter(pk=basket.pk).update(initial_capital=-1))


def test_leg_no_is_unique_per_strategy_and_lots_at_least_one():
    leg = LegFactory(leg_no=1)
    refused(lambda: LegFactory(strategy=leg.strategy, leg_no=1))
    refused(lambda: Leg.objects.filter(pk=leg.pk).update(lots=0))
    refused(lambda: Leg.objects.filter(pk=leg.pk).update(leg_no=0))


def test_is_intra_day_must_agree_with_product():
    strategy = StrategyFactory(product="NRML")
    refused(lambda: Strategy.objects.filter(pk=strategy.pk).update(is_intra_day=True))


def test_one_allocation_per_strategy_and_account_with_a_positive_multiplier():
    allocation = AllocationFactory()
    refused(lambda: Allocation.objects.create(strategy=allocation.strategy, broker_account=allocation.broker_account))
    refused(lambda: Allocation.objects.filter(pk=allocation.pk).update(strategy_lots_multiplier=0))
    refused(lambda: Allocation.objects.filter(pk=allocation.pk).update(strategy_lots_multiplier=None))


def test_one_override_per_allocation_and_leg_with_lots_at_least_one():
    allocation = AllocationFactory(allocation_type="LEG_LEVEL")
    leg = LegFactory(strategy=allocation.strategy, leg_no=1)
    override = LegOverride.objects.create(allocation=allocation, leg=leg, lots=2)
    refused(lambda: LegOverride.objects.create(allocation=allocation, leg=leg, lots=3))
    refused(lambda: LegOverride.objects.filter(pk=override.pk).update(lots=0))


def test_holidays_and_sessions_are_unique_per_exchange_and_date():
    Holiday.objects.create(exchange="NSE", date=dt.date(2026, 1, 26))
    refused(lambda: Holiday.objects.create(exchange="NSE", date=dt.date(2026, 1, 26)))
    TradingSession.objects.create(
        exchange="NSE", date=dt.date(2026, 1, 27), open_time=dt.time(9, 15), close_time=dt.time(15, 30)
    )
    refused(
        lambda: TradingSession.objects.create(
            exchange="NSE", date=dt.date(2026, 1, 27), open_time=dt.time(9, 15), close_time=dt.time(15, 30)
        )
    )
    refused(
        lambda: TradingSession.objects.create(
            exchange="BSE", date=dt.date(2026, 1, 28), open_time=dt.time(15, 0), close_time=dt.time(9, 0)
        )
    )


def test_one_scheduled_execution_per_strategy_type_and_day_but_manual_ones_may_repeat():
    strategy = StrategyFactory()
    execution(strategy)
    refused(lambda: execution(strategy))
    execution(strategy, "MANUAL")
    execution(strategy, "MANUAL")
    assert Execution.objects.filter(strategy=strategy).count() == 3


def test_order_tags_are_unique_and_quantities_positive():
    first = order("OPSAME")
    refused(lambda: order("OPSAME"))
    refused(lambda: Order.objects.filter(pk=first.pk).update(quantity=0))
    refused(lambda: Order.objects.filter(pk=first.pk).update(filled_quantity=130))


def test_a_broker_fill_is_recorded_once_per_order():
    placed = order()
    values = dict(order=placed, strategy=placed.strategy, broker_account=placed.broker_account, instrument=placed.instrument,
                  side="BUY", quantity=65, price=Decimal("10"), broker_fill_id="F1", filled_at=timezone.now())  # fmt: skip
    Fill.objects.create(**values)
    refused(lambda: Fill.objects.create(**values))


def test_two_strategies_keep_separate_positions_on_the_same_account_and_contract():
    account = BrokerAccountFactory()
    instrument = OptionInstrumentFactory()
    first, second = StrategyFactory(owner=account.owner), StrategyFactory(owner=account.owner)
    Position.objects.create(strategy=first, broker_account=account, instrument=instrument, net_quantity=-65)
    Position.objects.create(strategy=second, broker_account=account, instrument=instrument, net_quantity=130)
    refused(lambda: Position.objects.create(strategy=first, broker_account=account, instrument=instrument))
