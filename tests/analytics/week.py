"""A seeded week of trading for analytics tests (and the browser test): the seed 001 iron condor in its
basket on ZERODHA123 and ANGELONE456, entered at 09:30 and exited at 15:20 IST every day of the week of
Monday 23 Nov 2026, with fills booked through the engine's own `fills_record`."""

import datetime as dt
import itertools
from decimal import Decimal

from django.db import transaction

from execution.models import Execution, Order
from execution.services.books import fills_record
from tests.factories import BrokerAccountFactory, OptionInstrumentFactory, iron_condor

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
WEEK = [dt.date(2026, 11, 23) + dt.timedelta(days=n) for n in range(5)]  # Monday … Friday
LEGS = {  # leg_no: (side at entry, option type, strike)
    1: ("SELL", "PE", 25800),
    2: ("BUY", "PE", 25300),
    3: ("SELL", "CE", 26200),
    4: ("BUY", "CE", 26700),
}
# Premiums per day (entry, exit) for legs 1..4: the condor earns on four days and loses on Thursday.
PRICES = {
    0: {1: (100, 80), 2: (30, 25), 3: (90, 70), 4: (25, 20)},
    1: {1: (95, 85), 2: (28, 26), 3: (92, 88), 4: (26, 25)},
    2: {1: (98, 70), 2: (30, 22), 3: (88, 66), 4: (24, 18)},
    3: {1: (90, 160), 2: (25, 45), 3: (85, 40), 4: (22, 10)},
    4: {1: (97, 75), 2: (29, 24), 3: (91, 73), 4: (25, 21)},
}
LOTS = {"ZERODHA123": 1, "ANGELONE456": 2}
_ids = itertools.count(1)


def book(strategy, account, instrument, leg_no, side, quantity, price, at):
    """One filled order in the strategy's own book, recorded the way the engine records fills."""
    local = at.astimezone(IST)
    execution = Execution.objects.create(
        strategy=strategy,
        execution_type="ENTRY" if side == LEGS[leg_no][0] else "EXIT",
        execution_date=local.date(),
        execution_time=local.time(),
        due_at=at,
        trigger="MANUAL",
        status="COMPLETED",
    )
    order = Order.objects.create(
        execution=execution,
        strategy=strategy,
        broker_account=account,
        leg_no=leg_no,
        instrument=instrument,
        side=side,
        lots=quantity // instrument.lot_size,
        quantity=quantity,
        tag=f"T{next(_ids):08d}{at:%H%M}"[:20],
        status="FILLED",
        filled_quantity=quantity,
        average_price=price,
    )
    with transaction.atomic():
        fills_record(fills=[(order, f"F{order.tag}", quantity, Decimal(price), at)])
    return order


def trading_week(owner, *, days=WEEK, open_last_day=False):
    """Trade the condor each day of `days`; with open_last_day the last day's positions stay open."""
    strategy = iron_condor(owner=owner, strategy_name="Weekly Iron Condor NIFTY")
    accounts = {cid: BrokerAccountFactory(owner=owner, client_id=cid) for cid in LOTS}
    instruments = {
        leg_no: OptionInstrumentFactory(expiry=dt.date(2026, 12, 1), strike=Decimal(strike), option_type=option)
        for leg_no, (_, option, strike) in LEGS.items()
    }
    for n, day in enumerate(days):
        entry = dt.datetime.combine(day, dt.time(9, 30), tzinfo=IST)
        exit_ = dt.datetime.combine(day, dt.time(15, 20), tzinfo=IST)
        for client_id, lots in LOTS.items():
            for leg_no in (2, 4, 1, 3):  # buys before sells on entry
                side, *_ = LEGS[leg_no]
                qty = lots * instruments[leg_no].lot_size
                book(
                    strategy,
                    accounts[client_id],
                    instruments[leg_no],
                    leg_no,
                    side,
                    qty,
                    PRICES[n % 5][leg_no][0],
                    entry,
                )
            if open_last_day and n == len(days) - 1:
                continue
            for leg_no in (1, 3, 2, 4):  # shorts closed first on exit
                side = "BUY" if LEGS[leg_no][0] == "SELL" else "SELL"
                qty = lots * instruments[leg_no].lot_size
                book(
                    strategy,
                    accounts[client_id],
                    instruments[leg_no],
                    leg_no,
                    side,
                    qty,
                    PRICES[n % 5][leg_no][1],
                    exit_,
                )
    return {"strategy": strategy, "accounts": accounts, "instruments": instruments}


def gross_of_day(n: int) -> int:
    """The condor's gross P&L on day n for both accounts (3 lots of 65): Σ per leg (exit − entry) × signed qty."""
    total = 0
    for leg_no, (side, *_) in LEGS.items():
        entry, exit_ = PRICES[n][leg_no]
        sign = 1 if side == "BUY" else -1
        total += (exit_ - entry) * sign * 3 * 65
    return total
