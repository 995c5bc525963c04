"""strategies.selectors.strategy_payoff / payoff_market: the builder's indicative payoff, without a page."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from market.models import Instrument, Quote
from strategies import selectors
from tests.factories import LegFactory, OptionInstrumentFactory, StrategyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pinned(pinned_clock):
    yield


@pytest.fixture
def straddle():
    """A short NIFTY straddle at the money, one lot each side (weekly legs)."""
    strategy = StrategyFactory(underlying="NIFTY")
    for leg_no, leg_type in ((1, "CALL"), (2, "PUT")):
        LegFactory(strategy=strategy, leg_no=leg_no, leg_type=leg_type, transaction_type="SELL", lots=1)
    return strategy


def test_market_without_an_index_price_or_master_comes_from_the_reference_data():
    market = selectors.payoff_market(underlying="BANKNIFTY")

    assert (market["spot"], market["spot_source"]) == (Decimal("59000"), "reference spot (no index price yet)")
    assert (market["step"], market["lot_size"], market["lot_size_source"]) == (Decimal("100"), 30, "reference data")


def test_market_takes_the_last_index_price_and_the_instrument_masters_lot_size():
    index = Instrument.objects.create(
        exchange="NSE", tradingsymbol="NIFTY 50", kind="INDEX", underlying="NIFTY", lot_size=75, strike_step=100
    )
    Quote.objects.create(instrument=index, ltp=Decimal("25123.45"), updated_at=timezone.now())
    OptionInstrumentFactory(expiry=timezone.now().date() + dt.timedelta(days=5), lot_size=75)

    market = selectors.payoff_market(underlying="NIFTY")

    assert (market["spot"], market["spot_source"]) == (Decimal("25123.45"), "last index price")
    assert (market["step"], market["lot_size"], market["lot_size_source"]) == (Decimal("100"), 75, "instrument master")


def test_payoff_of_a_short_straddle_sells_both_sides_at_the_money_with_unlimited_loss(straddle):
    result = selectors.strategy_payoff(
        strategy=straddle, legs=list(straddle.legs.order_by("leg_no")), spot=Decimal("26010")
    )

    assert (result.spot, result.days) == (Decimal("26010"), Decimal(7))  # weekly legs: a week to expiry
    assert [(i.leg_no, i.payoff.option_type, i.payoff.strike, i.payoff.quantity) for i in result.indicative] == [
        (1, "CE", Decimal("26000"), 65),
        (2, "PE", Decimal("26000"), 65),
    ]
    assert result.summary.is_credit and result.summary.max_loss is None
    assert len(result.summary.breakevens) == 2
    assert result.chart is not None


def test_payoff_without_an_enabled_leg_has_the_assumptions_but_no_chart(straddle):
    straddle.legs.update(enabled=False)

    result = selectors.strategy_payoff(strategy=straddle, legs=list(straddle.legs.order_by("leg_no")), days=Decimal(3))

    assert (result.spot, result.days) == (Decimal("26000"), Decimal(3))
    assert (result.indicative, result.summary, result.chart) == ([], None, None)
