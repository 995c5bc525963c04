"""The metrics against figures worked out by hand (the arithmetic is in the comments)."""

import datetime as dt

import pytest

from analytics import metrics

D = dt.date
# Four trading days on ₹1,00,000: +1,000, −2,000, +500, +1,500.
DATES = [D(2026, 11, 27), D(2026, 11, 30), D(2026, 12, 1), D(2026, 12, 2)]
CAPITAL = 100_000
PNL = [1000, -2000, 500, 1500]
# equity 1,01,000  99,000  99,500  1,01,000; returns 1000/100000, −2000/101000, 500/99000, 1500/99500
RETURNS = [0.01, -0.0198019802, 0.0050505051, 0.0150753769]


def test_daily_returns_are_pnl_over_the_previous_days_equity():
    assert metrics.equity_curve(CAPITAL, PNL) == [101000, 99000, 99500, 101000]
    assert metrics.daily_returns(CAPITAL, PNL) == pytest.approx(RETURNS, abs=1e-10)


def test_total_return_compounds_to_final_equity_over_capital():
    # 1,01,000 / 1,00,000 − 1
    assert metrics.total_return(RETURNS) == pytest.approx(0.01, abs=1e-9)


def test_monthly_returns_compound_within_each_calendar_month():
    # November: 99,000 / 1,00,000 − 1 = −1 %; December: 1,01,000 / 99,000 − 1 = 2.0202 %
    assert metrics.monthly_returns(DATES, RETURNS) == {
        (2026, 11): pytest.approx(-0.01, abs=1e-9),
        (2026, 12): pytest.approx(0.0202020202, abs=1e-9),
    }


def test_monthly_return_is_the_geometric_mean_of_the_months():
    # (0.99 × 1.020202)^(1/2) − 1 = 1.01^(1/2) − 1
    assert metrics.monthly_return(DATES, RETURNS) == pytest.approx(0.0049875621, abs=1e-9)


def test_volatility_is_the_sample_deviation_annualised():
    # mean 0.0025809754; deviations² sum 0.00071825...; / 3 → s = 0.0154730655; × √252 = 0.2456273
    assert metrics.annualised_volatility(RETURNS) == pytest.approx(0.2456273, abs=1e-6)


def test_sharpe_uses_the_daily_risk_free_rate_over_252_days():
    # rf 0: 0.0025809754 / 0.0154730655 × √252 = 2.64794
    assert metrics.sharpe_ratio(RETURNS, risk_free_rate=0) == pytest.approx(2.64794, abs=1e-4)
    # rf 5.04 %: daily 0.0002 → (0.0025809754 − 0.0002) / 0.0154730655 × √252 = 2.44275
    assert metrics.sharpe_ratio(RETURNS, risk_free_rate=0.0504) == pytest.approx(2.44275, abs=1e-4)


def test_volatility_and_sharpe_are_undefined_on_one_day_or_no_variation():
    assert metrics.annualised_volatility([0.01]) is None
    assert metrics.sharpe_ratio([0.01, 0.01], risk_free_rate=0) is None


def test_max_drawdown_with_its_peak_trough_and_recovery_dates():
    # peak 1,01,000 on 27 Nov, trough 99,000 on 30 Nov: 2,000 / 1,01,000; back to 1,01,000 on 2 Dec
    dd = metrics.max_drawdown(DATES, CAPITAL, metrics.equity_curve(CAPITAL, PNL))
    assert dd.depth == pytest.approx(0.0198019802, abs=1e-9)
    assert (dd.peak, dd.trough, dd.recovery) == (D(2026, 11, 27), D(2026, 11, 30), D(2026, 12, 2))


def test_max_drawdown_from_the_starting_capital_still_under_water():
    dd = metrics.max_drawdown(DATES[:2], CAPITAL, [98000, 97000])
    assert dd.depth == pytest.approx(0.03)
    assert (dd.peak, dd.trough, dd.recovery) == (None, D(2026, 11, 30), None)


def test_drawdown_series_is_the_fall_from_the_running_peak():
    assert metrics.drawdowns(CAPITAL, [101000, 99000, 101000]) == pytest.approx([0, 2000 / 101000, 0])


TRADES = [3000, -1000, 2000, -500, 0]


def test_trade_statistics():
    assert metrics.win_rate(TRADES) == pytest.approx(0.4)  # 2 of 5 (a breakeven is not a win)
    assert metrics.average_win(TRADES) == pytest.approx(2500)  # (3000 + 2000) / 2
    assert metrics.average_loss(TRADES) == pytest.approx(-750)  # (−1000 − 500) / 2
    assert metrics.profit_factor(TRADES) == pytest.approx(5000 / 1500)
    # 0.4 × 2500 + 0.4 × (−750) = 700 = 3500 / 5
    assert metrics.expectancy(TRADES) == pytest.approx(700)


def test_trade_statistics_without_trades_or_losses_are_undefined():
    assert metrics.win_rate([]) is None
    assert metrics.expectancy([]) is None
    assert metrics.profit_factor([100, 200]) is None
    assert metrics.average_loss([100]) is None
