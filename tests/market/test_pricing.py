"""The paper market model: pure functions, no database."""

import datetime as dt
import math
from decimal import Decimal

import pytest

from market.calendar import EXCHANGE_TZ
from market.pricing import (
    RISK_FREE_RATE,
    TICK,
    TRADING_SECONDS_PER_YEAR,
    Market,
    implied_delta,
    option_quote,
    years_to_expiry,
)

NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=EXCHANGE_TZ)  # a Monday morning
WEEKLY = dt.date(2026, 12, 8)  # 8 days out
MONTHLY = dt.date(2026, 12, 29)
SPOT = Decimal("26000")
STRIKES = [Decimal(k) for k in range(23000, 29001, 250)]


def quote(strike, option_type, *, expiry=WEEKLY, spot=SPOT, now=NOW, **kwargs):
    return option_quote(
        spot=spot, strike=Decimal(strike), option_type=option_type, expiry=expiry, now=now, underlying="NIFTY", **kwargs
    )


def on_tick_grid(value: Decimal) -> bool:
    return value % TICK == 0


# Prices


@pytest.mark.parametrize("expiry", [WEEKLY, MONTHLY])
@pytest.mark.parametrize("strike", [25000, 25800, 26000, 26300, 27000])
def test_put_call_parity_holds_within_a_tick(strike, expiry):
    call, put = quote(strike, "CE", expiry=expiry), quote(strike, "PE", expiry=expiry)
    years = years_to_expiry(expiry, NOW)
    forward_gap = float(SPOT) - strike * math.exp(-RISK_FREE_RATE * years)
    assert abs(float(call.ltp - put.ltp) - forward_gap) <= float(TICK)


def test_at_the_money_call_delta_is_about_one_half():
    assert abs(quote(26000, "CE").delta - Decimal("0.5")) < Decimal("0.05")


def test_put_delta_is_call_delta_minus_one_at_the_same_strike():
    for strike in (25500, 26000, 26500):
        assert abs(quote(strike, "PE").delta - (quote(strike, "CE").delta - 1)) <= Decimal("0.0001")


def test_deeper_out_of_the_money_options_have_smaller_absolute_delta():
    call_deltas = [abs(quote(k, "CE").delta) for k in (26000, 26250, 26500, 27000, 27500)]
    put_deltas = [abs(quote(k, "PE").delta) for k in (26000, 25750, 25500, 25000, 24500)]
    assert call_deltas == sorted(call_deltas, reverse=True) and len(set(call_deltas)) == len(call_deltas)
    assert put_deltas == sorted(put_deltas, reverse=True) and len(set(put_deltas)) == len(put_deltas)


@pytest.mark.parametrize("expiry", [dt.date(2026, 11, 30), WEEKLY, MONTHLY])
def test_call_prices_fall_and_put_prices_rise_with_the_strike(expiry):
    calls = [quote(k, "CE", expiry=expiry).ltp for k in STRIKES]
    puts = [quote(k, "PE", expiry=expiry).ltp for k in STRIKES]
    assert calls == sorted(calls, reverse=True)
    assert puts == sorted(puts)


def test_out_of_the_money_puts_carry_more_implied_volatility_than_the_money():
    atm, otm_put = quote(26000, "PE"), quote(25000, "PE")
    assert atm.iv == Decimal("0.1300")  # NIFTY's base IV
    assert otm_put.iv > atm.iv


def test_a_given_iv_overrides_the_smile():
    assert quote(25000, "PE", iv=Decimal("0.2")).iv == Decimal("0.2000")
    assert quote(25000, "PE", iv=Decimal("0.2")).ltp > quote(25000, "PE", iv=Decimal("0.1")).ltp


# The book


@pytest.mark.parametrize("expiry", [dt.date(2026, 11, 30), WEEKLY, MONTHLY])
def test_bid_ltp_ask_are_ordered_and_on_the_tick_grid(expiry):
    for strike in STRIKES:
        for option_type in ("CE", "PE"):
            q = quote(strike, option_type, expiry=expiry)
            assert TICK <= q.bid <= q.ltp <= q.ask, (strike, option_type, q)
            assert q.bid < q.ask
            assert all(on_tick_grid(price) for price in (q.ltp, q.bid, q.ask)), q


def test_cheap_options_carry_a_wider_spread_for_their_price():
    cheap, dear = quote(27000, "CE"), quote(26000, "CE")
    assert cheap.ltp < dear.ltp
    assert (cheap.ask - cheap.bid) / cheap.ltp > (dear.ask - dear.bid) / dear.ltp


# Time to expiry


def test_time_to_expiry_runs_to_half_past_three_ist_on_the_expiry_date():
    now = dt.datetime(2026, 12, 7, 15, 30, tzinfo=EXCHANGE_TZ)
    assert years_to_expiry(WEEKLY, now) == pytest.approx(1 / 365)
    assert years_to_expiry(WEEKLY, now.astimezone(dt.UTC)) == pytest.approx(1 / 365)


@pytest.mark.parametrize("clock", [dt.time(15, 29, 59), dt.time(15, 30), dt.time(18, 0)])
def test_expiry_day_prices_stay_finite_to_the_close_and_after(clock):
    now = dt.datetime.combine(WEEKLY, clock, tzinfo=EXCHANGE_TZ)
    itm, atm, otm = quote(25800, "CE", now=now), quote(26000, "CE", now=now), quote(26200, "CE", now=now)
    assert itm.ltp >= Decimal("199") and itm.delta > Decimal("0.99")
    assert Decimal("0") < atm.ltp < Decimal("20")
    assert otm.ltp == TICK and otm.delta < Decimal("0.01")


def test_a_naive_now_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        quote(26000, "CE", now=dt.datetime(2026, 11, 30, 10, 0))


def test_an_unknown_option_type_is_refused():
    with pytest.raises(ValueError, match="CE or PE"):
        quote(26000, "XX")


# Deltas from market prices


@pytest.mark.parametrize("option_type", ["CE", "PE"])
@pytest.mark.parametrize("strike", [25500, 25750, 26000, 26250, 26500])
def test_implied_delta_from_the_quoted_price_round_trips_to_the_quoted_delta(strike, option_type):
    q = quote(strike, option_type)
    delta = implied_delta(
        price=q.ltp, spot=SPOT, strike=Decimal(strike), option_type=option_type, expiry=WEEKLY, now=NOW
    )
    assert delta == pytest.approx(q.delta, abs=Decimal("0.005"))


def test_implied_delta_is_none_when_no_volatility_explains_the_price():
    common = {"spot": SPOT, "strike": Decimal("25000"), "option_type": "CE", "expiry": WEEKLY, "now": NOW}
    assert implied_delta(price=Decimal("900"), **common) is None  # below the 1000 intrinsic value
    assert implied_delta(price=Decimal("0"), **common) is None
    assert implied_delta(price=Decimal("30000"), **common) is None  # above the spot itself


# The walk


def walk(market: Market, steps: int, underlying: str = "NIFTY") -> list[Decimal]:
    path = []
    for _ in range(steps):
        market.step(1)
        path.append(market.spot(underlying))
    return path


def test_two_markets_with_the_same_seed_walk_the_same_path():
    first = Market({"NIFTY": 26000, "BANKNIFTY": 59000}, seed=42)
    second = Market({"NIFTY": 26000, "BANKNIFTY": 59000}, seed=42)
    assert walk(first, 300) == walk(second, 300)
    assert first.spots() == second.spots()


def test_a_different_seed_walks_another_path():
    assert walk(Market({"NIFTY": 26000}, seed=1), 50) != walk(Market({"NIFTY": 26000}, seed=2), 50)


def test_adding_an_underlying_does_not_change_another_underlyings_path():
    alone = Market({"NIFTY": 26000}, seed=7)
    crowded = Market({"SENSEX": 85000, "NIFTY": 26000, "BANKNIFTY": 59000}, seed=7)
    assert walk(alone, 100) == walk(crowded, 100)


@pytest.mark.parametrize(("underlying", "volatility"), [("NIFTY", 0.13), ("BANKNIFTY", 0.16), ("SENSEX", 0.13)])
def test_a_session_of_one_second_steps_has_the_underlyings_annual_volatility(underlying, volatility):
    market = Market({underlying: 30000}, seed=11)
    levels = [30000.0]
    for _ in range(22_500):  # one 09:15-15:30 session
        market.step(1)
        levels.append(market._spots[underlying])
    returns = [math.log(b / a) for a, b in zip(levels, levels[1:], strict=False)]
    mean = sum(returns) / len(returns)
    per_second = math.sqrt(sum((r - mean) ** 2 for r in returns) / (len(returns) - 1))
    assert per_second * math.sqrt(TRADING_SECONDS_PER_YEAR) == pytest.approx(volatility, rel=0.05)


def test_a_step_of_zero_seconds_leaves_the_spot_alone():
    market = Market({"NIFTY": Decimal("26000.00")}, seed=1)
    market.step(0)
    assert market.spot("NIFTY") == Decimal("26000.00")


def test_market_option_quote_prices_off_the_current_spot():
    market = Market({"NIFTY": 26000}, seed=1)
    assert market.option_quote(underlying="NIFTY", strike=26000, option_type="CE", expiry=WEEKLY, now=NOW) == quote(
        26000, "CE"
    )
