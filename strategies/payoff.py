"""Profit and loss at expiry of a multi-leg options position, and indicative prices for the builder. No ORM.

At expiry one leg earns, per unit: bought = intrinsic − premium, sold = premium − intrinsic, where intrinsic is
max(S − K, 0) for a call (CE) and max(K − S, 0) for a put (PE). The position's P&L is piecewise linear in the
underlying price S with kinks only at the strikes, so everything here is exact rather than sampled: the extremes
are at S = 0, at a strike, or unbounded above the highest strike (read off the slope there: net long calls gain
without limit, net short calls lose without limit); breakevens are the zero crossings between those points.

Indicative prices: the builder has no live chain for a strategy that has not traded, so it prices each leg with
Black–Scholes (`market.pricing`) at a stated implied volatility, picks strikes with the execution engine's own rules (ATM rounding,
ATM offset and strike distance from `market.contracts`), and for a DELTA leg walks the strikes out
of the money for the one whose Black–Scholes delta is closest to the target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from market.contracts import OPTION_TYPE, atm_strike, round_to_tick, target_strike
from market.pricing import black_scholes_delta, black_scholes_price, option_flag

BUY, SELL = "BUY", "SELL"
CE, PE = "CE", "PE"
CENT = Decimal("0.01")
TICK = Decimal("0.05")


@dataclass(frozen=True)
class PayoffLeg:
    side: str  # BUY | SELL
    option_type: str  # CE | PE
    strike: Decimal
    premium: Decimal  # per unit
    quantity: int  # units: lots × lot size


def _d(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def intrinsic(option_type: str, strike: Decimal, price: Decimal) -> Decimal:
    if option_type == CE:
        return max(price - strike, Decimal(0))
    if option_type == PE:
        return max(strike - price, Decimal(0))
    raise ValueError(f"option_type must be CE or PE, not {option_type!r}")


def leg_pnl(leg: PayoffLeg, price) -> Decimal:
    value = intrinsic(leg.option_type, _d(leg.strike), _d(price)) - _d(leg.premium)
    if leg.side == SELL:
        value = -value
    elif leg.side != BUY:
        raise ValueError(f"side must be BUY or SELL, not {leg.side!r}")
    return value * leg.quantity


def pnl(legs: list[PayoffLeg], price) -> Decimal:
    """The position's P&L at expiry if the underlying settles at `price`."""
    return sum((leg_pnl(leg, price) for leg in legs), Decimal(0))


def curve(legs: list[PayoffLeg], prices) -> list[tuple[Decimal, Decimal]]:
    return [(_d(price), pnl(legs, price)) for price in prices]


def net_premium(legs: list[PayoffLeg]) -> Decimal:
    """Premium received minus premium paid for the whole position: positive is a net credit."""
    total = Decimal(0)
    for leg in legs:
        amount = _d(leg.premium) * leg.quantity
        total += amount if leg.side == SELL else -amount
    return total


def upside_slope(legs: list[PayoffLeg]) -> int:
    """Rupees of P&L per point of the underlying above every strike: only calls move there."""
    return sum((leg.quantity if leg.side == BUY else -leg.quantity) for leg in legs if leg.option_type == CE)


def strikes(legs: list[PayoffLeg]) -> list[Decimal]:
    return sorted({_d(leg.strike) for leg in legs})


def breakevens(legs: list[PayoffLeg]) -> list[Decimal]:
    """Every underlying price at which the position's P&L at expiry is zero, ascending, to the paisa."""
    if not legs:
        return []
    points = [Decimal(0), *[k for k in strikes(legs) if k > 0]]
    values = [pnl(legs, p) for p in points]
    found: list[Decimal] = []

    def add(price: Decimal):
        price = price.quantize(CENT, rounding=ROUND_HALF_UP)
        if price not in found:
            found.append(price)

    pairs = list(zip(points, values, strict=True))
    for (a, pa), (b, pb) in zip(pairs, pairs[1:], strict=False):
        if pa == 0 and a > 0:
            add(a)
        if (pa < 0 < pb) or (pb < 0 < pa):
            add(a + (b - a) * (-pa) / (pb - pa))
    last, last_value = points[-1], values[-1]
    if last_value == 0 and last > 0:
        add(last)
    slope = upside_slope(legs)
    if slope and last_value and (last_value > 0) != (slope > 0):
        add(last - last_value / slope)
    return sorted(found)


@dataclass(frozen=True)
class PayoffSummary:
    net_premium: Decimal  # positive: net credit
    max_profit: Decimal | None  # None: unlimited
    max_loss: Decimal | None  # the lowest P&L (a negative number for a loss); None: unlimited
    breakevens: list[Decimal]

    @property
    def is_credit(self) -> bool:
        return self.net_premium > 0


def summarize(legs: list[PayoffLeg]) -> PayoffSummary:
    points = [Decimal(0), *strikes(legs)]
    values = [pnl(legs, p) for p in points]
    slope = upside_slope(legs)
    return PayoffSummary(
        net_premium=net_premium(legs),
        max_profit=None if slope > 0 else max(values),
        max_loss=None if slope < 0 else min(values),
        breakevens=breakevens(legs),
    )


def price_range(legs: list[PayoffLeg], *, spot) -> tuple[Decimal, Decimal]:
    """An x-range that shows every strike, the spot and every breakeven with room either side."""
    spot = _d(spot)
    marks = [spot, *strikes(legs), *breakevens(legs)]
    low, high = min(marks), max(marks)
    pad = max((high - low) * Decimal("0.35"), spot * Decimal("0.02"))
    return max(low - pad, Decimal(0)), high + pad


def chart_points(legs: list[PayoffLeg], *, low, high) -> list[tuple[Decimal, Decimal]]:
    """The exact curve on [low, high]: its ends and every strike between them (it is straight in between)."""
    low, high = _d(low), _d(high)
    xs = [low, *[k for k in strikes(legs) if low < k < high], high]
    return curve(legs, xs)


# --- indicative prices (Black–Scholes) ---------------------------------------------------------------------


def premium(*, option_type: str, spot, strike, years: float, iv: float, rate: float) -> Decimal:
    """Black–Scholes price on the 0.05 tick grid (never below one tick, as a listed option trades)."""
    value = black_scholes_price(option_flag(option_type), float(spot), float(strike), years, rate, iv)
    return round_to_tick(Decimal(str(value)), TICK)


def delta(*, option_type: str, spot, strike, years: float, iv: float, rate: float) -> float:
    return black_scholes_delta(option_flag(option_type), float(spot), float(strike), years, rate, iv)


def strike_for_delta(
    *, option_type: str, target, spot, atm, step, years: float, iv: float, rate: float, max_steps: int = 200
) -> Decimal:
    """The strike at or out of the money whose |delta| is closest to `target`; on a tie the one further out
    (the engine's tie-break: less risk for a short)."""
    atm, step, target = _d(atm), _d(step), float(target)
    away = 1 if option_type == CE else -1
    best_strike, best_diff = atm, None
    for n in range(max_steps + 1):
        strike = atm + away * n * step
        if strike <= 0:
            break
        size = abs(delta(option_type=option_type, spot=spot, strike=strike, years=years, iv=iv, rate=rate))
        diff = abs(size - target)
        if best_diff is None or diff <= best_diff:
            best_strike, best_diff = strike, diff
        elif size < target:
            break  # |delta| only shrinks further out of the money
    return best_strike


@dataclass(frozen=True)
class LegInput:
    leg_no: int
    transaction_type: str  # BUY | SELL
    leg_type: str  # CALL | PUT
    lots: int
    strike_selection_config: dict


@dataclass(frozen=True)
class IndicativeLeg:
    leg_no: int
    payoff: PayoffLeg
    delta: float


def indicative_legs(
    legs: list[LegInput], *, spot, step, lot_size: int, years: float, iv: float, rate: float
) -> list[IndicativeLeg]:
    """Each leg at the strike its selection picks around `spot`, priced with Black–Scholes at `iv`."""
    spot, step = _d(spot), _d(step)
    atm = atm_strike(spot, step)
    result = []
    for leg in legs:
        option_type = OPTION_TYPE[leg.leg_type]
        config = leg.strike_selection_config or {"method": "ATM_OFFSET", "atm_offset": 0}
        strike = target_strike(leg_type=leg.leg_type, config=config, atm=atm, step=step)
        if strike is None:
            strike = strike_for_delta(
                option_type=option_type,
                target=config.get("delta_value", "0.2"),
                spot=spot,
                atm=atm,
                step=step,
                years=years,
                iv=iv,
                rate=rate,
            )
        strike = max(strike, step)
        price = premium(option_type=option_type, spot=spot, strike=strike, years=years, iv=iv, rate=rate)
        result.append(
            IndicativeLeg(
                leg_no=leg.leg_no,
                payoff=PayoffLeg(leg.transaction_type, option_type, strike, price, leg.lots * lot_size),
                delta=delta(option_type=option_type, spot=spot, strike=strike, years=years, iv=iv, rate=rate),
            )
        )
    return result


# --- the chart's geometry (SVG user units) -----------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    polyline: str
    area: str  # the curve closed along the zero line: filled green above it, red below
    zero_y: float
    spot_x: float
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    breakeven_xs: list[tuple[float, str]]
    strike_xs: list[tuple[float, str]]

    @property
    def plot_width(self) -> float:
        return self.right - self.left

    @property
    def profit_height(self) -> float:
        return max(self.zero_y - self.top, 0)

    @property
    def loss_height(self) -> float:
        return max(self.bottom - self.zero_y, 0)


def _nice_step(span: float, count: int) -> float:
    raw = span / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def chart(
    points: list[tuple[Decimal, Decimal]],
    *,
    spot,
    breakevens: list[Decimal] = (),
    strikes: list[Decimal] = (),
    width: int = 760,
    height: int = 300,
) -> Chart:
    """Scale the curve into an SVG box with room for axis labels on the left and bottom."""
    left, right, top, bottom = 72, 16, 16, 36
    xs = [float(x) for x, _ in points]
    ys = [float(y) for _, y in points] + [0.0]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if y1 - y0 < 1:
        y0, y1 = y0 - 1, y1 + 1
    margin = (y1 - y0) * 0.08
    y0, y1 = y0 - margin, y1 + margin
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return round(left + (x - x0) / (x1 - x0) * plot_w, 1) if x1 > x0 else left

    def sy(y: float) -> float:
        return round(top + (y1 - y) / (y1 - y0) * plot_h, 1)

    line = [(sx(x), sy(y)) for x, y in zip(xs, ys, strict=False)]
    polyline = " ".join(f"{x},{y}" for x, y in line)
    zero_y = sy(0.0)
    area = " ".join([f"{line[0][0]},{zero_y}", polyline, f"{line[-1][0]},{zero_y}"])
    x_step = _nice_step(x1 - x0, 6)
    first = (int(x0 // x_step) + 1) * x_step
    x_ticks = []
    tick = first
    while tick < x1:
        x_ticks.append((sx(tick), f"{tick:,.0f}"))
        tick += x_step
    y_step = _nice_step(y1 - y0, 5)
    y_ticks = []
    tick = (int(y0 // y_step) + 1) * y_step
    while tick < y1:
        y_ticks.append((sy(tick), f"{tick:,.0f}"))
        tick += y_step
    return Chart(
        width=width,
        height=height,
        left=left,
        right=width - right,
        top=top,
        bottom=height - bottom,
        polyline=polyline,
        area=area,
        zero_y=zero_y,
        spot_x=sx(float(spot)),
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        breakeven_xs=[(sx(float(b)), f"{b:,.0f}") for b in breakevens if x0 <= float(b) <= x1],
        strike_xs=[(sx(float(k)), f"{k:,.0f}") for k in strikes if x0 <= float(k) <= x1],
    )
