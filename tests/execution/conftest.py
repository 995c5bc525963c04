import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from allocations.models import Allocation, LegOverride
from market.models import Instrument, Quote
from market.pricing import option_quote
from tests.factories import BrokerAccountFactory, UserFactory, iron_condor

# Monday 23 Nov 2026, 09:30 IST = 04:00 UTC; NIFTY weekly expiry Tuesday 24 Nov (and 1 Dec).
MONDAY_0930 = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)
EXPIRIES = [dt.date(2026, 11, 24), dt.date(2026, 12, 1), dt.date(2026, 12, 29)]
SPOT = Decimal("26000")


@pytest.fixture
def frozen():
    with time_machine.travel(MONDAY_0930, tick=False) as traveller:
        yield traveller


def make_chain(*, with_quotes=True, spot=SPOT, now=MONDAY_0930, underlying="NIFTY", lot_size=65, freeze=1800):
    index = Instrument.objects.create(
        exchange="NSE",
        tradingsymbol=f"{underlying} INDEX",
        kind="INDEX",
        underlying=underlying,
        lot_size=lot_size,
        strike_step=50,
    )
    if with_quotes:
        Quote.objects.create(instrument=index, ltp=spot, bid=spot, ask=spot, updated_at=now)
    options, quotes = [], []
    for expiry in EXPIRIES:
        for strike in range(24000, 28001, 50):
            for option_type in ("CE", "PE"):
                options.append(
                    Instrument(
                        exchange="NFO",
                        tradingsymbol=f"{underlying}{expiry:%y%m%d}{strike}{option_type}",
                        kind="OPTION",
                        underlying=underlying,
                        expiry=expiry,
                        strike=strike,
                        option_type=option_type,
                        lot_size=lot_size,
                        freeze_quantity=freeze,
                    )
                )
    Instrument.objects.bulk_create(options)
    if with_quotes:
        for instrument in Instrument.objects.filter(kind="OPTION", underlying=underlying):
            sim = option_quote(
                spot=spot,
                strike=instrument.strike,
                option_type=instrument.option_type,
                expiry=instrument.expiry,
                now=now,
                underlying=underlying,
            )
            quotes.append(
                Quote(
                    instrument=instrument,
                    ltp=sim.ltp,
                    bid=sim.bid,
                    ask=sim.ask,
                    iv=sim.iv,
                    delta=sim.delta,
                    updated_at=now,
                )
            )
        Quote.objects.bulk_create(quotes)
    return index


def allocate_seed_001(strategy, owner):
    """ZERODHA123 3,3,1,1 and ANGELONE456 1,1,4,4 (seed 001 Step 4)."""
    accounts = []
    for client_id, lots in (("ZERODHA123", (3, 3, 1, 1)), ("ANGELONE456", (1, 1, 4, 4))):
        account = BrokerAccountFactory(owner=owner, client_id=client_id)
        allocation = Allocation.objects.create(
            strategy=strategy, broker_account=account, allocation_type="LEG_LEVEL", priority=len(accounts) + 1
        )
        for leg, n in zip(strategy.legs.order_by("leg_no"), lots, strict=True):
            LegOverride.objects.create(allocation=allocation, leg=leg, lots=n)
        accounts.append(account)
    return accounts


@pytest.fixture
def trader(db):
    return UserFactory(username="trader")


@pytest.fixture
def condor(trader):
    """The seed 001 iron condor with explicit strike selection, allocated 8 + 10 lots."""
    strategy = iron_condor(owner=trader)
    configs = {
        1: {"method": "DELTA", "delta_value": 0.2},
        2: {"method": "STRIKE_DISTANCE", "strike_distance": 500},
        3: {"method": "DELTA", "delta_value": 0.2},
        4: {"method": "STRIKE_DISTANCE", "strike_distance": 500},
    }
    for leg in strategy.legs.all():
        leg.strike_selection_config = configs[leg.leg_no]
        leg.entry_by = configs[leg.leg_no]["method"]
        leg.save()
    allocate_seed_001(strategy, trader)
    return strategy


def new_execution(strategy, execution_type="ENTRY", *, due_at=MONDAY_0930, trigger="SCHEDULED"):
    from execution.models import Execution

    local = timezone.localtime(due_at, timezone=dt.timezone(dt.timedelta(hours=5, minutes=30)))
    return Execution.objects.create(
        strategy=strategy,
        execution_type=execution_type,
        execution_date=local.date(),
        execution_time=local.time(),
        due_at=due_at,
        trigger=trigger,
    )
