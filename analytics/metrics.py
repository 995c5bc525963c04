"""Performance metrics as pure functions on values. No ORM, no clock.

Inputs are a daily series on deployed capital: `capital` (₹, the base the returns are measured on) and the
day's net P&L for each trading day in order. The equity after day t is E_t = capital + Σ_{s≤t} pnl_s
(E_0 = capital), and the daily return is r_t = pnl_t / E_{t-1}. Returns are fractions (0.01 = 1 %).
A metric that is undefined on its input (no days, a zero deviation, no losing trade) is None, never 0.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

TRADING_DAYS = 252


def equity_curve(capital: float, pnl: Sequence[float]) -> list[float]:
    """E_t = capital + Σ_{s≤t} pnl_s for every day t (the capital before the first day is not listed)."""
    equity, total = [], float(capital)
    for value in pnl:
        total += float(value)
        equity.append(total)
    return equity


def daily_returns(capital: float, pnl: Sequence[float]) -> list[float]:
    """r_t = pnl_t / E_{t-1}, with E_0 = capital; a day starting at equity ≤ 0 has no defined return and
    is counted as 0 (there is nothing left to lose)."""
    returns, previous = [], float(capital)
    for value in pnl:
        returns.append(float(value) / previous if previous > 0 else 0.0)
        previous += float(value)
    return returns


def total_return(returns: Sequence[float]) -> float | None:
    """Compounded: Π(1 + r_t) − 1, which equals E_last / capital − 1."""
    if not returns:
        return None
    product = 1.0
    for r in returns:
        product *= 1 + r
    return product - 1


def monthly_returns(dates: Sequence[dt.date], returns: Sequence[float]) -> dict[tuple[int, int], float]:
    """Per calendar month (year, month): Π(1 + r_t) − 1 over that month's trading days, in date order."""
    months: dict[tuple[int, int], float] = {}
    for day, r in zip(dates, returns, strict=True):
        key = (day.year, day.month)
        months[key] = (1 + months.get(key, 0.0)) * (1 + r) - 1
    return months


def monthly_return(dates: Sequence[dt.date], returns: Sequence[float]) -> float | None:
    """The geometric mean of the calendar-month returns: (Π(1 + m_k))^(1/K) − 1 over the K months the series
    touches, i.e. (1 + total return)^(1/K) − 1."""
    months = monthly_returns(dates, returns)
    if not months:
        return None
    growth = math.prod(1 + m for m in months.values())
    if growth <= 0:
        return -1.0
    return growth ** (1 / len(months)) - 1


def annualised_volatility(returns: Sequence[float]) -> float | None:
    """σ_annual = s × √252, where s is the sample standard deviation (n − 1) of the daily returns; needs two
    days at least."""
    if len(returns) < 2:
        return None
    return statistics.stdev(returns) * math.sqrt(TRADING_DAYS)


def sharpe_ratio(returns: Sequence[float], *, risk_free_rate: float) -> float | None:
    """(mean(r) − rf / 252) / s × √252: the mean daily excess return over the daily risk-free rate (the
    annual `risk_free_rate` ÷ 252), divided by the sample standard deviation of the daily returns,
    annualised by √252. None with fewer than two days or a zero deviation."""
    if len(returns) < 2:
        return None
    deviation = statistics.stdev(returns)
    if deviation == 0:
        return None
    excess = statistics.fmean(returns) - risk_free_rate / TRADING_DAYS
    return excess / deviation * math.sqrt(TRADING_DAYS)


@dataclass(frozen=True)
class Drawdown:
    depth: float  # fraction of the peak, positive: 0.1 is a 10 % fall
    peak: dt.date | None  # the day of the high the fall started from (None: the starting capital)
    trough: dt.date | None
    recovery: dt.date | None  # first day back at or above the peak; None while still under water


def drawdowns(capital: float, equity: Sequence[float]) -> list[float]:
    """Per day: D_t = (max(capital, E_1..E_t) − E_t) / max(capital, E_1..E_t), a positive fraction (0 at a
    new high)."""
    peak, result = float(capital), []
    for value in equity:
        peak = max(peak, value)
        result.append((peak - value) / peak if peak > 0 else 0.0)
    return result


def max_drawdown(dates: Sequence[dt.date], capital: float, equity: Sequence[float]) -> Drawdown:
    """The largest D_t (see `drawdowns`), with the date of the peak before it, the date of the trough and
    the first date equity regained that peak (None if it has not). Depth 0 when equity never fell."""
    peak_value, peak_day = float(capital), None
    best = Drawdown(0.0, None, None, None)
    best_peak_value = None
    for day, value in zip(dates, equity, strict=True):
        if value >= peak_value:
            if best_peak_value is not None and best.recovery is None and value >= best_peak_value:
                best = Drawdown(best.depth, best.peak, best.trough, day)
            peak_value, peak_day = value, day
            continue
        depth = (peak_value - value) / peak_value if peak_value > 0 else 0.0
        if depth > best.depth:
            best, best_peak_value = Drawdown(depth, peak_day, day, None), peak_value
    return best


def win_rate(trades: Sequence[float]) -> float | None:
    """Winning closed trades (P&L > 0) ÷ all closed trades; a trade is an entry and its exit."""
    if not trades:
        return None
    return sum(1 for t in trades if t > 0) / len(trades)


def average_win(trades: Sequence[float]) -> float | None:
    """Mean P&L of the winning trades (P&L > 0)."""
    wins = [t for t in trades if t > 0]
    return statistics.fmean(wins) if wins else None


def average_loss(trades: Sequence[float]) -> float | None:
    """Mean P&L of the losing trades (P&L < 0): a negative number."""
    losses = [t for t in trades if t < 0]
    return statistics.fmean(losses) if losses else None


def profit_factor(trades: Sequence[float]) -> float | None:
    """Σ winning P&L ÷ |Σ losing P&L|; None without a losing trade (it would be infinite)."""
    losses = -sum(t for t in trades if t < 0)
    if losses == 0:
        return None
    return sum(t for t in trades if t > 0) / losses


def expectancy(trades: Sequence[float]) -> float | None:
    """Expected P&L per closed trade: win rate × average win + loss rate × average loss, which is the mean
    trade P&L (breakeven trades count in the denominator)."""
    if not trades:
        return None
    return statistics.fmean(trades)


@dataclass(frozen=True)
class Summary:
    total_return: float | None
    monthly_return: float | None
    volatility: float | None
    sharpe_ratio: float | None
    max_drawdown: Drawdown
    win_rate: float | None
    average_win: float | None
    average_loss: float | None
    profit_factor: float | None
    expectancy: float | None
    trades: int


def summarize(
    *, dates: Sequence[dt.date], capital: float, pnl: Sequence[float], trades: Sequence[float], risk_free_rate: float
) -> Summary:
    """Every metric above for one daily series and its closed trades."""
    returns = daily_returns(capital, pnl)
    equity = equity_curve(capital, pnl)
    return Summary(
        total_return=total_return(returns),
        monthly_return=monthly_return(dates, returns),
        volatility=annualised_volatility(returns),
        sharpe_ratio=sharpe_ratio(returns, risk_free_rate=risk_free_rate),
        max_drawdown=max_drawdown(dates, capital, equity),
        win_rate=win_rate(trades),
        average_win=average_win(trades),
        average_loss=average_loss(trades),
        profit_factor=profit_factor(trades),
        expectancy=expectancy(trades),
        trades=len(trades),
    )
