import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from market.models import Instrument, Quote
from tests.factories import BrokerAccountFactory, OptionInstrumentFactory


@pytest.fixture
def nifty_master(db):
    """A NIFTY index at 26000 and one listed option contract with lot size 65."""
    index = Instrument.objects.create(
        exchange="NSE", tradingsymbol="NIFTY 50", kind="INDEX", underlying="NIFTY", lot_size=65, strike_step=50
    )
    Quote.objects.create(instrument=index, ltp=Decimal("26000"), updated_at=timezone.now())
    OptionInstrumentFactory(expiry=timezone.now().date() + datetime.timedelta(days=5), lot_size=65)
    return index


@pytest.fixture
def seed_accounts(user):
    return [BrokerAccountFactory(owner=user, client_id=c) for c in ("ZERODHA123", "ANGELONE456")]


@pytest.fixture(autouse=True)
def _pinned(pinned_clock):
    """Every test here runs from the pinned clock (its fixtures date contracts and quotes from now)."""
    yield
