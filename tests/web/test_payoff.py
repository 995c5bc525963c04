"""strategies/payoff.py: P&L at expiry, exact extremes and breakevens, indicative strikes and premiums."""

from decimal import Decimal

import pytest

from strategies import payoff
from strategies.payoff import PayoffLeg

QTY = 130  # 2 lots of NIFTY at lot size 65


def iron_condor(qty=QTY):
    return [
        PayoffLeg("SELL", "PE", Decimal("25600"), Decimal("40"), qty),
        PayoffLeg("BUY", "PE", Decimal("25500"), Decimal("20"), qty),
        PayoffLeg("SELL", "CE", Decimal("26400"), Decimal("45"), qty),
        PayoffLeg("BUY", "CE", Decimal("26500"), Decimal("22"), qty),
    ]


def test_iron_condor_max_profit_is_the_net_credit_times_quantity():
    summary = payoff.summarize(iron_condor())
    assert summary.net_premium == Decimal("43") * QTY
    assert summary.is_credit
    assert summary.max_profit == Decimal("43") * QTY


def test_iron_condor_max_loss_is_the_wing_width_less_the_credit_times_quantity():
    assert payoff.summarize(iron_condor()).max_loss == -(Decimal("100") - Decimal("43")) * QTY


def test_iron_condor_breakevens_are_the_short_strikes_moved_out_by_the_credit():
    assert payoff.breakevens(iron_condor()) == [Decimal("25557.00"), Decimal("26443.00")]


def test_iron_condor_pnl_is_the_credit_between_the_short_strikes_and_the_max_loss_beyond_the_wings():
    legs = iron_condor()
    assert payoff.pnl(legs, 26000) == Decimal("5590")
    assert payoff.pnl(legs, 25000) == payoff.pnl(legs, 25500) == Decimal("-7410")
    assert payoff.pnl(legs, 30000) == Decimal("-7410")
    assert payoff.pnl(legs, Decimal("25557")) == 0


def test_a_bought_call_has_unlimited_profit_and_loses_at_most_its_premium():
    legs = [PayoffLeg("BUY", "CE", Decimal("26000"), Decimal("120.50"), 65)]
    summary = payoff.summarize(legs)
    assert summary.max_profit is None
    assert summary.max_loss == Decimal("-120.50") * 65
    assert summary.breakevens == [Decimal("26120.50")]
    assert summary.net_premium == Decimal("-120.50") * 65


def test_a_short_straddle_has_unlimited_loss_and_two_breakevens():
    legs = [
        PayoffLeg("SELL", "CE", Decimal("26000"), Decimal("150"), 65),
        PayoffLeg("SELL", "PE", Decimal("26000"), Decimal("140"), 65),
    ]
    summary = payoff.summarize(legs)
    assert summary.max_loss is None
    assert summary.max_profit == Decimal("290") * 65
    assert summary.breakevens == [Decimal("25710.00"), Decimal("26290.00")]


def test_a_bought_put_loses_its_premium_above_the_strike_and_gains_down_to_zero():
    legs = [PayoffLeg("BUY", "PE", Decimal("100"), Decimal("10"), 1)]
    summary = payoff.summarize(legs)
    assert summary.max_profit == Decimal("90")  # the underlying at 0
    assert summary.max_loss == Decimal("-10")
    assert summary.breakevens == [Decimal("90.00")]


def test_a_fractional_breakeven_is_rounded_to_the_paisa():
    legs = [
        PayoffLeg("SELL", "PE", Decimal("100"), Decimal("5"), 3),
        PayoffLeg("BUY", "PE", Decimal("90"), Decimal("1"), 2),
    ]
    # above 100: +13; between 90 and 100 the slope is 3 per point: zero at 100 - 13/3
    assert payoff.breakevens(legs)[-1] == Decimal("95.67")


def test_no_legs_means_no_pnl_and_no_breakevens():
    assert payoff.pnl([], 26000) == 0
    assert payoff.breakevens([]) == []


def test_a_side_other_than_buy_or_sell_is_refused():
    with pytest.raises(ValueError):
        payoff.leg_pnl(PayoffLeg("HOLD", "CE", Decimal("1"), Decimal("1"), 1), 2)


def test_chart_points_are_the_range_ends_and_every_strike_in_between():
    legs = iron_condor()
    low, high = payoff.price_range(legs, spot=26000)
    assert low < Decimal("25500") and high > Decimal("26500")
    points = payoff.chart_points(legs, low=low, high=high)
    assert [x for x, _ in points] == [low, Decimal("25500"), Decimal("25600"), Decimal("26400"), Decimal("26500"), high]


def test_chart_geometry_keeps_the_curve_and_the_zero_line_inside_the_plot():
    legs = iron_condor()
    summary = payoff.summarize(legs)
    low, high = payoff.price_range(legs, spot=26000)
    chart = payoff.chart(
        payoff.chart_points(legs, low=low, high=high), spot=26000, breakevens=summary.breakevens, strikes=[]
    )
    assert chart.top < chart.zero_y < chart.bottom
    assert len(chart.polyline.split()) == 6
    assert chart.left < chart.spot_x < chart.right
    assert len(chart.breakeven_xs) == 2


def test_atm_offset_and_strike_distance_strikes_use_the_engines_rules():
    legs = [
        payoff.LegInput(1, "SELL", "CALL", 1, {"method": "ATM_OFFSET", "atm_offset": 2}),
        payoff.LegInput(2, "BUY", "PUT", 1, {"method": "STRIKE_DISTANCE", "strike_distance": 500}),
    ]
    result = payoff.indicative_legs(
        legs, spot=Decimal("26010"), step=Decimal("50"), lot_size=65, years=7 / 365, iv=0.13, rate=0.065
    )
    assert [item.payoff.strike for item in result] == [Decimal("26100"), Decimal("25500")]
    assert [item.payoff.option_type for item in result] == ["CE", "PE"]
    assert all(item.payoff.quantity == 65 for item in result)


def test_a_delta_leg_gets_the_out_of_the_money_strike_nearest_the_target_delta():
    strike = payoff.strike_for_delta(
        option_type="PE", target="0.2", spot=26000, atm=26000, step=50, years=7 / 365, iv=0.13, rate=0.065
    )
    assert strike < 26000
    chosen = abs(payoff.delta(option_type="PE", spot=26000, strike=strike, years=7 / 365, iv=0.13, rate=0.065))
    for neighbour in (strike - 50, strike + 50):
        other = abs(payoff.delta(option_type="PE", spot=26000, strike=neighbour, years=7 / 365, iv=0.13, rate=0.065))
        assert abs(chosen - 0.2) <= abs(other - 0.2)


def test_black_scholes_premiums_are_on_the_tick_grid_and_at_least_one_tick():
    near = payoff.premium(option_type="CE", spot=26000, strike=26000, years=7 / 365, iv=0.13, rate=0.065)
    far = payoff.premium(option_type="CE", spot=26000, strike=40000, years=7 / 365, iv=0.13, rate=0.065)
    assert near > 100 and near % Decimal("0.05") == 0
    assert far == Decimal("0.05")
