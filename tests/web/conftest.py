import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from market.models import Instrument, Quote
from strategies.models import Strategy
from tests.factories import OptionInstrumentFactory


@pytest.fixture
def page(user):
    """A browser session signed in as `user` (alice)."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def other_page(other_user):
    client = Client()
    client.force_login(other_user)
    return client


@pytest.fixture
def nifty(db):
    """NIFTY at 26000 with strike step 50 and a listed option contract of lot size 65."""
    index = Instrument.objects.create(
        exchange="NSE", tradingsymbol="NIFTY 50", kind="INDEX", underlying="NIFTY", lot_size=1, strike_step=50
    )
    Quote.objects.create(instrument=index, ltp=Decimal("26000"), updated_at=timezone.now())
    OptionInstrumentFactory(expiry=timezone.now().date() + datetime.timedelta(days=5), lot_size=65)
    return index


@pytest.fixture
def demo(db, nifty):
    """`manage.py demo`: user demo, accounts ZERODHA123 / ANGELONE456, the seed 001 basket and iron condor."""
    call_command("demo", stdout=io.StringIO())
    strategy = Strategy.objects.get(owner__username="demo", strategy_name="Weekly Iron Condor NIFTY")
    client = Client()
    client.force_login(strategy.owner)
    return {"client": client, "strategy": strategy, "user": strategy.owner}


@pytest.fixture(autouse=True)
def _pinned(pinned_clock):
    """Every test here runs from the pinned clock (its fixtures date contracts and quotes from now)."""
    yield
