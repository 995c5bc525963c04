"""Charges and the end-of-day replay against figures worked out by hand."""

import datetime as dt
from decimal import Decimal

import pytest

from analytics.marks import FillRow, TradeFill, closed_trades, replay
from execution.charges import order_charges

D = Decimal


def test_sell_order_charges_at_default_rates():
    c = order_charges(side="SELL", turnover=D("100000"))
    # brokerage 20; STT 0.1 % = 100; exchange 0.03503 % = 35.03; SEBI 0.0001 % = 0.10;
    # GST 18 % × (20 + 35.03 + 0.10) = 9.9234 → 9.92; no stamp on a sale
    assert c.as_dict() == {
        "brokerage": D("20.00"),
        "stt": D("100.00"),
        "exchange": D("35.03"),
        "sebi": D("0.10"),
        "gst": D("9.92"),
        "stamp": D("0"),
        "total": D("165.05"),
    }


def test_buy_order_pays_stamp_not_stt():
    c = order_charges(side="BUY", turnover=D("100000"))
    assert (c.stt, c.stamp, c.total) == (D("0"), D("3.00"), D("68.05"))


def test_rates_come_from_settings(settings):
    settings.CHARGES_BROKERAGE_PER_ORDER = "0"
    settings.CHARGES_GST_RATE = "0"
    assert order_charges(side="BUY", turnover=D("100000")).total == D("38.13")  # 35.03 + 0.10 + 3.00


def test_bad_side_is_refused():
    with pytest.raises(ValueError, match="side"):
        order_charges(side="HOLD", turnover=D("1"))


DAY1, DAY2 = dt.date(2026, 11, 23), dt.date(2026, 11, 24)


def fill(day, order, instrument, leg, side, price, strike):
    return FillRow(day, order, instrument, leg, side, 100, D(price), D(strike), "PE")


# A put spread: day 1 buy 100 of the 25500 PE @ 20 (leg 2), sell 100 of the 26000 PE @ 50 (leg 1);
# close 40 and 15. Day 2 buy back the 26000 PE @ 30, sell the 25500 PE @ 10.
FILLS = [
    fill(DAY1, "B", 2, 2, "BUY", "20", "25500"),
    fill(DAY1, "A", 1, 1, "SELL", "50", "26000"),
    fill(DAY2, "C", 1, 1, "BUY", "30", "26000"),
    fill(DAY2, "D", 2, 2, "SELL", "10", "25500"),
]
CLOSES = {(DAY1, 1): D("40"), (DAY1, 2): D("15")}


def test_replay_marks_open_positions_at_the_close_and_realizes_on_exit():
    day1, day2 = replay(FILLS, days=[DAY1, DAY2], close=lambda day, i: CLOSES.get((day, i)))
    # day 1: (40 − 50) × −100 = +1,000 and (15 − 20) × 100 = −500 → unrealized 500, nothing realized
    assert (day1.realized, day1.unrealized, day1.gross) == (0, 500, 500)
    # fees: sale 5,000 → 20 + 5.00 + 1.75 + 0.01 + GST 3.92 = 30.68; buy 2,000 → 20 + 0.70 + GST 3.73 + 0.06 = 24.49
    assert day1.fees == D("55.17")
    assert day1.net == D("444.83")
    # day 2: realized (30 − 50) × −100 + (10 − 20) × 100 = 1,000; unrealized back to 0 → gross 1,000 − 500
    assert (day2.realized, day2.unrealized, day2.gross) == (1000, 0, 500)
    assert day2.by_leg[1]["gross"] == 1000 and day2.by_leg[2]["gross"] == -500
    assert day1.by_leg[1]["gross"] == 1000 and day1.by_leg[2]["gross"] == -500
    assert day1.by_leg[1]["fees"] == D("30.68")


def test_capital_used_is_the_days_largest_margin():
    day1, day2 = replay(FILLS, days=[DAY1, DAY2], close=lambda day, i: CLOSES.get((day, i)))
    # hedged: spot ≈ mean strike 25,750; 100 × 25,750 × 3 % + long premium 100 × 25,750 × 0.5 % = 90,125
    assert day1.capital_used == 90125
    assert day2.capital_used == 90125  # held overnight into day 2


def test_a_held_contract_without_a_close_is_marked_at_cost_and_flagged():
    (day1,) = replay(FILLS[:2], days=[DAY1], close=lambda day, i: None)
    assert day1.unrealized == 0 and day1.priced is False


def test_closed_trade_is_an_entry_and_its_exit_net_of_charges():
    fills = [TradeFill("acct", f.instrument_id, f.order_id, f.side, f.quantity, f.price) for f in FILLS]
    # realized 1,000 − charges 30.68 + 24.49 + 24.93 (buy 3,000) + 25.01 (sell 1,000) = 894.89
    assert closed_trades(fills) == [(3, D("894.89"))]
    assert closed_trades(fills[:3]) == []  # still holding the long put: not closed
