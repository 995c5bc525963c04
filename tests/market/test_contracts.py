"""Expiry and strike resolution (market/contracts.py): pure functions on values."""

import datetime as dt
from decimal import Decimal

import pytest

from market.contracts import (
    Contract,
    ContractError,
    atm_strike,
    limit_price,
    pick_expiry,
    pick_strike,
    slices,
)

EXPIRIES = [
    dt.date(2026, 11, 24),
    dt.date(2026, 12, 1),
    dt.date(2026, 12, 8),
    dt.date(2026, 12, 29),
    dt.date(2027, 1, 26),
]


def test_weekly_offset_counts_listed_expiries():
    assert pick_expiry(EXPIRIES, expiry_type="WEEKLY", offset=0) == dt.date(2026, 11, 24)
    assert pick_expiry(EXPIRIES, expiry_type="WEEKLY", offset=2) == dt.date(2026, 12, 8)


def test_monthly_offset_counts_the_last_expiry_of_each_month():
    assert pick_expiry(EXPIRIES, expiry_type="MONTHLY", offset=0) == dt.date(2026, 11, 24)
    assert pick_expiry(EXPIRIES, expiry_type="MONTHLY", offset=1) == dt.date(2026, 12, 29)


def test_an_expiry_moved_off_a_holiday_by_the_master_is_used_as_listed():
    # 2027-01-26 (Republic Day) would be listed by load_instruments as Monday 25th
    moved = [*EXPIRIES[:-1], dt.date(2027, 1, 25)]
    assert pick_expiry(moved, expiry_type="MONTHLY", offset=2) == dt.date(2027, 1, 25)


def test_an_offset_beyond_the_listed_expiries_is_refused():
    with pytest.raises(ContractError, match="offset 9"):
        pick_expiry(EXPIRIES, expiry_type="WEEKLY", offset=9)


def test_atm_rounds_to_the_nearest_strike_step():
    assert atm_strike(Decimal("26024.9"), Decimal(50)) == 26000
    assert atm_strike(Decimal("26025"), Decimal(50)) == 26050


def chain(option_type, deltas):
    return [
        Contract(
            i, "NFO", f"X{strike}", dt.date(2026, 11, 24), Decimal(strike), option_type, 65, 1800, Decimal("0.05"), None
        )
        for i, strike in enumerate(deltas)
    ]


def test_atm_offset_moves_out_of_the_money_for_each_side():
    calls = chain("CE", {25900: 0, 26000: 0, 26100: 0})
    puts = chain("PE", {25900: 0, 26000: 0, 26100: 0})
    config = {"method": "ATM_OFFSET", "atm_offset": 2}
    assert (
        pick_strike(
            leg_type="CALL", config=config, atm=Decimal(26000), step=Decimal(50), chain=calls, delta_of=None
        ).strike
        == 26100
    )
    assert (
        pick_strike(
            leg_type="PUT", config=config, atm=Decimal(26000), step=Decimal(50), chain=puts, delta_of=None
        ).strike
        == 25900
    )


def test_strike_distance_rounds_to_the_strike_step_away_from_the_money():
    puts = chain("PE", {25650: 0, 25700: 0})
    config = {"method": "STRIKE_DISTANCE", "strike_distance": 320}
    assert (
        pick_strike(
            leg_type="PUT", config=config, atm=Decimal(26000), step=Decimal(50), chain=puts, delta_of=None
        ).strike
        == 25700
    )


def test_delta_picks_the_closest_absolute_delta():
    deltas = {25500: Decimal("-0.12"), 25600: Decimal("-0.17"), 25700: Decimal("-0.24"), 25800: Decimal("-0.31")}
    puts = chain("PE", deltas)
    picked = pick_strike(
        leg_type="PUT",
        config={"method": "DELTA", "delta_value": 0.2},
        atm=Decimal(26000),
        step=Decimal(50),
        chain=puts,
        delta_of=lambda c: deltas[int(c.strike)],
    )
    assert picked.strike == 25600


def test_a_strike_that_is_not_listed_is_refused():
    with pytest.raises(ContractError, match="not listed"):
        pick_strike(
            leg_type="CALL",
            config={"method": "ATM_OFFSET", "atm_offset": 10},
            atm=Decimal(26000),
            step=Decimal(50),
            chain=chain("CE", {26000: 0}),
            delta_of=None,
        )


def test_limit_prices_sit_slippage_away_on_the_tick_grid():
    assert limit_price(side="BUY", ltp=Decimal("101.02"), slippage=Decimal(3), tick=Decimal("0.05")) == Decimal(
        "104.00"
    )
    assert limit_price(side="SELL", ltp=Decimal("2.00"), slippage=Decimal(5), tick=Decimal("0.05")) == Decimal("0.05")


@pytest.mark.parametrize("quantity, expected", [(1950, [1755, 195]), (1755, [1755]), (3510, [1755, 1755]), (65, [65])])
def test_slices_stay_under_the_freeze_quantity_in_whole_lots(quantity, expected):
    assert slices(quantity, lot_size=65, freeze_quantity=1800) == expected
