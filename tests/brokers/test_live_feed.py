"""Live quotes from Zerodha: KiteTicker over the Kite fake's websocket, and the REST ltp fallback."""

import time
from decimal import Decimal

import pytest

from brokers import sessions
from brokers.fakes.dumps import kite_csv
from brokers.instruments import load_zerodha_instruments
from brokers.live_feed import KiteFeed, live_feed_source
from market.feed import FeedInstrument
from market.models import Instrument
from tests.brokers.conftest import KITE, MONDAY_1000
from tests.factories import BrokerAccountFactory, OptionInstrumentFactory


@pytest.fixture
def connected(db, kite_fake, ticking, tmp_path):
    option = OptionInstrumentFactory(tradingsymbol="NIFTY26D0126000PE")
    dump = kite_csv([{"underlying": "NIFTY", "expiry": option.expiry, "strike": option.strike, "option_type": "PE",
                      "exchange": "NFO", "lot_size": 65, "tradingsymbol": option.tradingsymbol}])  # fmt: skip
    (tmp_path / "nfo.csv").write_text(dump)
    load_zerodha_instruments(as_of=MONDAY_1000.date(), path=tmp_path / "nfo.csv", out=lambda line: None)
    kite_fake.control(instruments_csv={"NFO": dump}, issue_tokens=["tok-feed"], ltp={option.tradingsymbol: 123.45})
    account = BrokerAccountFactory(broker="ZERODHA", client_id="ZERODHA123")
    account.credentials = KITE
    account.save()
    sessions.session_save(account=account, tokens={"access_token": "tok-feed"})
    option = Instrument.objects.get(pk=option.pk)
    return account, option


def feed_row(option):
    return FeedInstrument(option.pk, "NFO", option.tradingsymbol, "OPTION", "NIFTY", option.expiry, option.strike,
                          "PE", None)  # fmt: skip


def test_kite_ticker_quotes_arrive_over_the_websocket_with_bid_and_ask(connected, kite_fake):
    account, option = connected
    feed = KiteFeed(account, root=kite_fake.url.replace("http://", "ws://"))
    try:
        deadline = time.monotonic() + 15
        ticks = []
        while time.monotonic() < deadline:
            ticks = feed.snapshot([feed_row(option)], MONDAY_1000)
            if ticks and ticks[0].bid is not None:
                break
            time.sleep(0.2)
    finally:
        feed.close()
    (tick,) = ticks
    assert tick.ltp == Decimal("123.45")
    assert tick.bid < tick.ltp < tick.ask


def test_without_the_websocket_the_feed_falls_back_to_ltp(connected, kite_fake):
    account, option = connected
    feed = KiteFeed(account, socket=False)
    (tick,) = feed.snapshot([feed_row(option)], MONDAY_1000)
    assert (tick.ltp, tick.bid) == (Decimal("123.45"), None)
    ltp_calls = [r for r in kite_fake.requests() if r["path"] == "/quote/ltp"]
    assert len(ltp_calls) == 1


def test_the_live_feed_is_chosen_only_when_a_zerodha_account_is_connected(connected, kite_fake, live_settings):
    account, _ = connected
    live_settings.KITE_TICKER_ROOT = kite_fake.url.replace("http://", "ws://")
    source = live_feed_source()
    assert isinstance(source, KiteFeed)
    source.close()
    sessions.session_expire(account=account, detail="test")
    assert live_feed_source() is None


def test_run_feed_takes_the_live_source_while_zerodha_is_connected_and_the_paper_feed_otherwise(
    connected, kite_fake, live_settings
):
    from market.feed import PaperFeed, feed_source

    account, _ = connected
    live_settings.KITE_TICKER_ROOT = kite_fake.url.replace("http://", "ws://")
    source = feed_source(seed=1)
    assert isinstance(source, KiteFeed)
    source.close()
    sessions.session_expire(account=account, detail="test")
    assert isinstance(feed_source(seed=1), PaperFeed)
