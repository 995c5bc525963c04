"""The market-data feed on the database: what gets quoted, the one-upsert cycle, staleness, `run_feed`."""

import datetime as dt
import os
import signal
import threading
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from execution.models import Position
from market.calendar import EXCHANGE_TZ
from market.feed import PaperFeed, feed_cycle, instruments_to_quote, is_stale, quote_state
from market.models import Instrument, Quote
from strategies.models import Leg, Strategy
from tests.factories import BrokerAccountFactory, LegFactory, StrategyFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=EXCHANGE_TZ)  # a Monday
NIFTY_EXPIRIES = [dt.date(2026, 12, d) for d in (1, 8, 15, 22, 29)] + [dt.date(2027, 1, 26)]
BANKNIFTY_EXPIRIES = [dt.date(2026, 12, 29), dt.date(2027, 1, 26)]


def listing(underlying, *, step, spot, expiries, each_side=40, exchange="NFO", index_symbol=None):
    """An index row and a CE/PE chain of `each_side` strikes either side of `spot` for each expiry."""
    index = Instrument.objects.create(
        exchange="BSE" if exchange == "BFO" else "NSE",
        tradingsymbol=index_symbol or f"{underlying} INDEX",
        kind=Instrument.Kind.INDEX,
        underlying=underlying,
        strike_step=Decimal(step),
    )
    rows = [
        Instrument(
            exchange=exchange,
            tradingsymbol=f"{underlying}{expiry:%y%m%d}{spot + i * step}{option_type}",
            kind=Instrument.Kind.OPTION,
            underlying=underlying,
            expiry=expiry,
            strike=Decimal(spot + i * step),
            option_type=option_type,
            lot_size=65,
            strike_step=Decimal(step),
        )
        for expiry in expiries
        for i in range(-each_side, each_side + 1)
        for option_type in ("CE", "PE")
    ]
    Instrument.objects.bulk_create(rows)
    return index


def option(underlying, expiry, strike, option_type):
    return Instrument.objects.get(underlying=underlying, expiry=expiry, strike=strike, option_type=option_type)


def strategy_on(underlying, *, expiry_type=Leg.ExpiryType.WEEKLY, expiry_offset=0, status=Strategy.Status.ACTIVE):
    strategy = StrategyFactory(underlying=underlying, status=status)
    LegFactory(strategy=strategy, leg_no=1, expiry_type=expiry_type, expiry_offset=expiry_offset)
    return strategy


def open_position(instrument, net_quantity, strategy=None):
    strategy = strategy or StrategyFactory(underlying=instrument.underlying, status=Strategy.Status.PAUSED)
    account = BrokerAccountFactory(owner=strategy.owner)
    return Position.objects.create(
        strategy=strategy, broker_account=account, instrument=instrument, net_quantity=net_quantity
    )


def quoted():
    return Instrument.objects.filter(quote__isnull=False)


@pytest.fixture
def nifty():
    return listing("NIFTY", step=50, spot=26000, expiries=NIFTY_EXPIRIES, index_symbol="NIFTY 50")


@pytest.fixture
def banknifty():
    return listing("BANKNIFTY", step=100, spot=59000, expiries=BANKNIFTY_EXPIRIES, index_symbol="NIFTY BANK")


# What gets quoted


def test_a_cycle_quotes_the_index_and_only_the_contracts_an_active_weekly_strategy_can_need(nifty, banknifty):
    strategy_on("NIFTY", expiry_offset=0)
    strategy_on("BANKNIFTY", status=Strategy.Status.PAUSED)

    result = feed_cycle(PaperFeed(seed=1), NOW)

    options = quoted().filter(kind=Instrument.Kind.OPTION)
    assert set(options.values_list("expiry", flat=True)) == {dt.date(2026, 12, 1), dt.date(2026, 12, 8)}
    strikes = set(options.values_list("strike", flat=True))
    assert (min(strikes), max(strikes)) == (Decimal("24500"), Decimal("27500"))  # ±30 steps of 50 around 26000
    assert set(quoted().values_list("underlying", flat=True)) == {"NIFTY"}
    assert quoted().filter(pk=nifty.pk).exists()
    assert result.quotes == Quote.objects.count() == 1 + 2 * 61 * 2


def test_monthly_legs_get_the_monthly_expiries_priced(nifty):
    strategy_on("NIFTY", expiry_type=Leg.ExpiryType.MONTHLY, expiry_offset=0)
    feed_cycle(PaperFeed(seed=1), NOW)
    expiries = set(quoted().filter(kind=Instrument.Kind.OPTION).values_list("expiry", flat=True))
    assert expiries == {dt.date(2026, 12, 29), dt.date(2027, 1, 26)}


def test_a_further_expiry_offset_widens_the_expiries_priced(nifty):
    strategy_on("NIFTY", expiry_offset=2)
    feed_cycle(PaperFeed(seed=1), NOW)
    expiries = set(quoted().filter(kind=Instrument.Kind.OPTION).values_list("expiry", flat=True))
    assert expiries == set(NIFTY_EXPIRIES[:4])


def test_the_strike_window_is_configurable(nifty):
    strategy_on("NIFTY")
    feed_cycle(PaperFeed(seed=1), NOW, strikes_each_side=2)
    strikes = set(quoted().filter(kind=Instrument.Kind.OPTION).values_list("strike", flat=True))
    assert strikes == {Decimal(k) for k in (25900, 25950, 26000, 26050, 26100)}


def test_the_chain_centres_on_the_last_stored_index_price(nifty):
    Quote.objects.create(instrument=nifty, ltp=Decimal("25000"), updated_at=NOW - dt.timedelta(minutes=5))
    strategy_on("NIFTY")
    feed_cycle(PaperFeed(seed=1), NOW, strikes_each_side=1)
    strikes = set(quoted().filter(kind=Instrument.Kind.OPTION).values_list("strike", flat=True))
    assert strikes == {Decimal("24950"), Decimal("25000"), Decimal("25050")}


def test_inactive_and_expired_contracts_are_not_quoted(nifty):
    expired = listing("NIFTY", step=50, spot=26000, expiries=[dt.date(2026, 11, 24)], each_side=1, exchange="X")
    expired.delete()  # only its options matter
    Instrument.objects.filter(expiry=dt.date(2026, 12, 1), strike=26000).update(active=False)
    strategy_on("NIFTY")
    feed_cycle(PaperFeed(seed=1), NOW)
    assert not quoted().filter(expiry=dt.date(2026, 11, 24)).exists()
    assert not quoted().filter(expiry=dt.date(2026, 12, 1), strike=26000).exists()


def test_open_positions_are_quoted_even_outside_the_chain_and_without_an_active_strategy(nifty, banknifty):
    strategy_on("NIFTY")
    far_nifty = option("NIFTY", dt.date(2026, 12, 22), 27900, "CE")
    bank_short = option("BANKNIFTY", dt.date(2026, 12, 29), 60000, "PE")
    closed = option("BANKNIFTY", dt.date(2026, 12, 29), 58000, "PE")
    open_position(far_nifty, 65)
    open_position(bank_short, -30)
    open_position(closed, 0)

    feed_cycle(PaperFeed(seed=1), NOW)

    assert quoted().filter(pk__in=[far_nifty.pk, bank_short.pk, banknifty.pk]).count() == 3
    assert not quoted().filter(pk=closed.pk).exists()
    # BANKNIFTY has no active strategy: its index and the open contract, not its chain.
    assert set(quoted().filter(underlying="BANKNIFTY").values_list("pk", flat=True)) == {banknifty.pk, bank_short.pk}


def test_nothing_is_quoted_without_active_strategies_or_open_positions(nifty):
    strategy_on("NIFTY", status=Strategy.Status.ARCHIVED)
    assert feed_cycle(PaperFeed(seed=1), NOW).quotes == 0
    assert instruments_to_quote(NOW) == []


# The upsert


def test_a_second_cycle_updates_the_quotes_rather_than_adding_rows(nifty):
    strategy_on("NIFTY")
    feed = PaperFeed(seed=5)
    feed_cycle(feed, NOW)
    first = {q.pk: q for q in Quote.objects.all()}

    later = NOW + dt.timedelta(seconds=1)
    feed_cycle(feed, later)

    second = {q.pk: q for q in Quote.objects.all()}
    assert second.keys() == first.keys()
    assert {q.updated_at for q in second.values()} == {later}
    assert second[nifty.pk].ltp != first[nifty.pk].ltp  # the index walked on


def test_option_quotes_carry_a_book_an_iv_and_a_delta(nifty):
    strategy_on("NIFTY")
    feed_cycle(PaperFeed(seed=1), NOW)
    atm_call = Quote.objects.get(instrument=option("NIFTY", dt.date(2026, 12, 8), 26000, "CE"))
    assert atm_call.bid <= atm_call.ltp <= atm_call.ask
    assert atm_call.iv == Decimal("0.1300")
    assert Decimal("0.45") < atm_call.delta < Decimal("0.6")
    index = Quote.objects.get(instrument=nifty)
    assert (index.bid, index.ask, index.iv, index.delta) == (None, None, None, None)


def test_the_walk_starts_from_the_reference_spot_when_no_index_quote_exists(nifty):
    strategy_on("NIFTY")
    feed_cycle(PaperFeed(seed=1), NOW)
    assert Quote.objects.get(instrument=nifty).ltp == Decimal("26000.00")  # market/data/underlyings.json


def test_the_walk_resumes_from_the_last_stored_index_quote(nifty):
    Quote.objects.create(instrument=nifty, ltp=Decimal("25123.45"), updated_at=NOW - dt.timedelta(hours=16))
    strategy_on("NIFTY")
    feed_cycle(PaperFeed(seed=1), NOW)
    assert Quote.objects.get(instrument=nifty).ltp == Decimal("25123.45")


def test_the_same_seed_publishes_the_same_prices(nifty):
    strategy_on("NIFTY")

    def run(seed):
        Quote.objects.all().delete()
        feed = PaperFeed(seed=seed)
        for second in range(3):
            feed_cycle(feed, NOW + dt.timedelta(seconds=second))
        return dict(Quote.objects.values_list("instrument_id", "ltp"))

    assert run(9) == run(9)
    assert run(9) != run(10)


def test_queries_per_cycle_stay_the_same_however_many_instruments(nifty, banknifty, django_assert_max_num_queries):
    strategy_on("NIFTY")
    open_position(option("NIFTY", dt.date(2026, 12, 22), 27900, "CE"), 65)
    feed = PaperFeed(seed=1)
    with CaptureQueriesContext(connection) as small:
        small_result = feed_cycle(feed, NOW, strikes_each_side=2)

    strategy_on("BANKNIFTY", expiry_type=Leg.ExpiryType.MONTHLY, expiry_offset=1)
    strategy_on("NIFTY", expiry_offset=3)
    listing("SENSEX", step=100, spot=85000, expiries=[dt.date(2026, 12, 3)], exchange="BFO", index_symbol="SENSEX")
    strategy_on("SENSEX")
    open_position(option("BANKNIFTY", dt.date(2026, 12, 29), 60000, "PE"), -30)
    with django_assert_max_num_queries(5), CaptureQueriesContext(connection) as large:
        large_result = feed_cycle(feed, NOW + dt.timedelta(seconds=1), strikes_each_side=40)

    assert large_result.quotes > 10 * small_result.quotes
    assert len(large) == len(small)


# Staleness


def test_a_quote_is_stale_only_once_older_than_the_threshold():
    with time_machine.travel(NOW, tick=False) as clock:
        updated_at = timezone.now()
        clock.shift(5)
        assert not is_stale(updated_at, timezone.now(), 5)
        clock.shift(0.5)
        assert is_stale(updated_at, timezone.now(), 5)
    assert is_stale(None, NOW, 5)


def test_quote_state_reports_prices_and_staleness_per_instrument(nifty, settings):
    settings.QUOTE_STALE_SECONDS = 5
    strategy_on("NIFTY")
    feed_cycle(PaperFeed(seed=1), NOW, strikes_each_side=0)
    call = option("NIFTY", dt.date(2026, 12, 8), 26000, "CE")
    unquoted = option("NIFTY", dt.date(2027, 1, 26), 26000, "CE")

    fresh = quote_state([nifty.pk, call.pk, unquoted.pk], NOW + dt.timedelta(seconds=2))
    assert fresh[nifty.pk].ltp == Decimal("26000.00") and not fresh[nifty.pk].stale
    assert fresh[call.pk].bid <= fresh[call.pk].ltp <= fresh[call.pk].ask
    assert fresh[call.pk].updated_at == NOW
    assert fresh[unquoted.pk].stale and fresh[unquoted.pk].ltp is None

    later = quote_state([nifty.pk, call.pk], NOW + dt.timedelta(seconds=6))
    assert later[nifty.pk].stale and later[call.pk].stale


# The command


def test_run_feed_runs_the_given_cycles_and_exits(nifty):
    strategy_on("NIFTY")
    out = StringIO()
    with time_machine.travel(NOW, tick=True):  # the loop keeps to the (travelling) wall clock
        call_command("run_feed", "--cycles", "2", "--interval", "0.01", "--seed", "3", stdout=out)
    assert "stopped after 2 cycles" in out.getvalue()
    assert Quote.objects.filter(instrument=nifty).exists()
    assert Quote.objects.count() == 1 + 2 * 61 * 2


def test_run_feed_once_writes_one_cycle(nifty):
    strategy_on("NIFTY")
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("run_feed", "--once", "--strikes", "1", stdout=out)
    # The index, and 3 strikes x CE/PE at the two nearest expiries.
    assert "13 quotes written for 13 instruments" in out.getvalue()
    assert Quote.objects.count() == 13


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_run_feed_stops_cleanly_on_a_signal(signum):
    previous = signal.getsignal(signum)
    out = StringIO()
    # Ample cycles: the loop is still running when the signal comes, and still ends if it never does.
    timer = threading.Timer(0.3, os.kill, args=(os.getpid(), signum))
    timer.start()
    try:
        call_command("run_feed", "--cycles", "1000", "--interval", "0.01", stdout=out)
    finally:
        timer.cancel()
    assert f"{signal.Signals(signum).name} received" in out.getvalue()
    assert "stopped after 1000 cycles" not in out.getvalue()
    assert signal.getsignal(signum) is previous
