import datetime as dt
import os
from decimal import Decimal

import pytest
import time_machine

from brokers import sessions
from brokers.fakes.process import FakeProcess
from tests.factories import BrokerAccountFactory, OptionInstrumentFactory

# Monday 23 Nov 2026, 10:00 IST: a trading morning. The clock ticks: rate limits and timeouts need time to pass.
MONDAY_1000 = dt.datetime(2026, 11, 23, 4, 30, tzinfo=dt.UTC)
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
KITE = {"api_key": "fake_api_key", "api_secret": "fake_api_secret"}
ANGEL = {"api_key": "fake_angel_key", "client_code": "A123456", "pin": "1234", "totp_secret": TOTP_SECRET}


@pytest.fixture
def ticking():
    with time_machine.travel(MONDAY_1000, tick=True) as traveller:
        yield traveller


@pytest.fixture(scope="session")
def kite_process():
    fake = FakeProcess("kite")
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def angel_process():
    fake = FakeProcess("angel", "--totp-secret", TOTP_SECRET)
    yield fake
    fake.stop()


@pytest.fixture
def live_settings(settings):
    settings.REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/4"
    settings.BROKER_HTTP_TIMEOUT = 1.0
    settings.BROKER_RATE_LIMIT_WAIT = 30.0
    return settings


@pytest.fixture
def kite_fake(kite_process, live_settings):
    kite_process.reset()
    live_settings.KITE_API_ROOT = kite_process.url
    return kite_process


@pytest.fixture
def angel_fake(angel_process, live_settings):
    angel_process.reset()
    live_settings.SMARTAPI_ROOT = angel_process.url
    return angel_process


@pytest.fixture
def instrument(db):
    return OptionInstrumentFactory(
        tradingsymbol="NIFTY26D0126000PE",
        broker_tokens={
            "PAPER": "NIFTY26D0126000PE",
            "ZERODHA": {"symbol": "NIFTY26D0126000PE", "token": "12086274"},
            "ANGELONE": {"symbol": "NIFTY01DEC2626000PE", "token": "43651"},
        },
    )


@pytest.fixture
def zerodha_account(db, kite_fake, ticking):
    account = BrokerAccountFactory(broker="ZERODHA", client_id="ZERODHA123", algo_id="ALGO42")
    account.credentials = KITE
    account.save()
    kite_fake.control(issue_tokens=["tok-zerodha-123"])
    return sessions.session_save(account=account, tokens={"access_token": "tok-zerodha-123"})


@pytest.fixture
def angel_account(db, angel_fake, ticking):
    import time

    angel_fake.control(clock=time.time())  # TOTP codes are made on the pinned clock
    account = BrokerAccountFactory(broker="ANGELONE", client_id="A123456")
    account.credentials = ANGEL
    account.save()
    return account


def request_for(instrument, *, tag="OPTEST0000000001", side="SELL", quantity=65, order_type="MARKET", price=None):
    from brokers.adapters.base import OrderRequest

    return OrderRequest(
        tag=tag,
        instrument_id=instrument.pk,
        exchange="NFO",
        tradingsymbol=instrument.tradingsymbol,
        side=side,
        quantity=quantity,
        order_type=order_type,
        limit_price=Decimal(price) if price is not None else None,
        product="NRML",
    )
