"""Option pricing: the Black–Scholes price and greeks, and the paper market model (index random walks, an IV
smile, a bid/ask book around the theoretical price). Pure: no ORM, no clock.

- Each underlying's spot follows a geometric Brownian motion with a realistic annualised volatility, stepped in
  trading time (the market only moves while it is open, so a year is 252 sessions of 6¼ hours).
- Options are priced with Black–Scholes (European, as Indian index options are) on the spot, with an implied
  volatility read off a simple smile: the underlying's base IV, richer for puts below spot (skew), lifted on both
  wings (smile), steeper for near expiries.
- Time to expiry runs in calendar time to 15:30 IST of the expiry date, floored at a few minutes so that expiry-day
  prices stay finite; IVs are annualised fractions (0.13 = 13 %), as vollib takes them.
- Bid and ask sit around the theoretical price on the 0.05 tick grid; the spread is two ticks plus 0.1 % of the
  price, so cheap options carry the widest spread relative to their price, as on the exchange.

Determinism: a `Market` built with a seed walks the same path on every run and on every machine (each underlying
has its own random stream, so adding an underlying does not change the others' paths).

vollib is imported under its canonical name: `py_vollib` is now a shim over the very same `vollib` package and
warns on import.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from vollib.black_scholes import black_scholes
from vollib.black_scholes.greeks.analytical import delta as bs_delta
from vollib.black_scholes.implied_volatility import implied_volatility
from vollib.helpers.exceptions import PriceIsAboveMaximum, PriceIsBelowIntrinsic
from vollib.lets_be_rational import AboveMaximumException, BelowIntrinsicException

from market.calendar import EXCHANGE_TZ, REGULAR_CLOSE

TICK = Decimal("0.05")
INDEX_PRICE_STEP = Decimal("0.01")

RISK_FREE_RATE = 0.065  # roughly the RBI repo rate; the F&O desks' usual choice
SECONDS_PER_YEAR = 365 * 24 * 3600  # option time to expiry: calendar time, as Indian desks quote IV
TRADING_SECONDS_PER_YEAR = 252 * 6.25 * 3600  # the walk: 252 sessions of 09:15-15:30
MIN_SECONDS_TO_EXPIRY = 300  # the last five minutes price as five minutes out: d1 stays finite, ATM stays > 0

# Annualised volatility per underlying: the walk's realised volatility and the smile's at-the-money IV.
ANNUAL_VOLATILITY: dict[str, float] = {
    "NIFTY": 0.13,
    "BANKNIFTY": 0.16,
    "FINNIFTY": 0.14,
    "MIDCPNIFTY": 0.17,
    "SENSEX": 0.13,
}
DEFAULT_VOLATILITY = 0.15

# The smile: iv = base − SKEW × x + SMILE × x², where x is ln(K/S) scaled to a one-month expiry and eased
# into ±WING (tanh) so the far wings flatten out: a smooth, bounded smile keeps call prices falling and put
# prices rising with the strike (no static arbitrage) at every expiry.
SKEW = 0.4
SMILE = 2.0
WING = 0.25
SMILE_REFERENCE_YEARS = 30 / 365
SMILE_MIN_YEARS = 1 / 365  # below a day the wings stop steepening
MIN_IV, MAX_IV = 0.05, 1.0

# Bid/ask: full spread = SPREAD_TICKS ticks + SPREAD_FRACTION of the price.
SPREAD_TICKS = 2
SPREAD_FRACTION = Decimal("0.001")

_TICK = float(TICK)
_SPREAD_FRACTION = float(SPREAD_FRACTION)
_EPSILON = 1e-9  # float noise must not move a price that sits exactly on a tick
_FLAGS = {"CE": "c", "C": "c", "CALL": "c", "PE": "p", "P": "p", "PUT": "p"}
_IV_FAILURES = (PriceIsAboveMaximum, PriceIsBelowIntrinsic, AboveMaximumException, BelowIntrinsicException)


@dataclass(frozen=True)
class SimQuote:
    """A simulated option quote: prices on the tick grid, `bid <= ltp <= ask`; iv annualised (0.13 = 13 %)."""

    ltp: Decimal
    bid: Decimal
    ask: Decimal
    iv: Decimal
    delta: Decimal


def annual_volatility(underlying: str | None) -> float:
    return ANNUAL_VOLATILITY.get((underlying or "").upper(), DEFAULT_VOLATILITY)


def option_flag(option_type: str) -> str:
    """vollib's 'c' / 'p' from CE/PE (or CALL/PUT, C/P)."""
    try:
        return _FLAGS[str(option_type).strip().upper()]
    except KeyError:
        raise ValueError(f"Option type must be CE or PE, not {option_type!r}.") from None


def expiry_instant(expiry: dt.date) -> dt.datetime:
    """15:30 IST on the expiry date, when the contract settles."""
    return dt.datetime.combine(expiry, REGULAR_CLOSE, tzinfo=EXCHANGE_TZ)


def years_to_expiry(expiry: dt.date, now: dt.datetime) -> float:
    """Calendar years from `now` (timezone-aware) to 15:30 IST of `expiry`, never less than five minutes."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware.")
    seconds = (expiry_instant(expiry) - now).total_seconds()
    return max(seconds, MIN_SECONDS_TO_EXPIRY) / SECONDS_PER_YEAR


def smile_iv(*, spot: float, strike: float, years: float, base_iv: float) -> float:
    """The implied volatility of a strike: `base_iv` at the money, more for puts below spot, more on both wings."""
    x = math.log(strike / spot) / math.sqrt(max(years, SMILE_MIN_YEARS) / SMILE_REFERENCE_YEARS)
    x = WING * math.tanh(x / WING)
    return min(max(base_iv - SKEW * x + SMILE * x * x, MIN_IV), MAX_IV)


def book_around(price: float) -> tuple[Decimal, Decimal, Decimal]:
    """(ltp, bid, ask) on the tick grid around a theoretical price; bid >= one tick, bid < ask, bid <= ltp <= ask."""
    # In whole ticks with float arithmetic: this runs for every contract every second.
    units = max(price, 0.0) / _TICK
    half_spread = (SPREAD_TICKS + _SPREAD_FRACTION * units) / 2
    bid = max(math.floor(units - half_spread + _EPSILON), 1)
    ask = max(math.ceil(units + half_spread - _EPSILON), bid + 1)
    ltp = min(max(math.floor(units + 0.5), bid), ask)
    return Decimal(ltp) * TICK, Decimal(bid) * TICK, Decimal(ask) * TICK


def _four_places(value: float) -> Decimal:
    return Decimal(round(value * 10_000)).scaleb(-4)


def _floats(spot, strike) -> tuple[float, float]:
    s, k = float(spot), float(strike)
    if s <= 0 or k <= 0:
        raise ValueError("spot and strike must be positive.")
    return s, k


def black_scholes_price(flag: str, spot: float, strike: float, years: float, rate: float, iv: float) -> float:
    """The Black–Scholes (European) price per unit from plain floats: vollib's 'c'/'p' flag, annualised iv."""
    return float(black_scholes(flag, spot, strike, years, rate, iv))


def black_scholes_delta(flag: str, spot: float, strike: float, years: float, rate: float, iv: float) -> float:
    """The Black–Scholes delta from plain floats (calls 0..1, puts -1..0)."""
    return float(bs_delta(flag, spot, strike, years, rate, iv))


def price_option(flag: str, spot: float, strike: float, years: float, iv: float) -> SimQuote:
    """The quote of a contract from plain floats (vollib's 'c'/'p' flag, years to expiry, annualised iv)."""
    if iv <= 0:
        raise ValueError("iv must be positive.")
    ltp, bid, ask = book_around(black_scholes_price(flag, spot, strike, years, RISK_FREE_RATE, iv))
    option_delta = black_scholes_delta(flag, spot, strike, years, RISK_FREE_RATE, iv)
    return SimQuote(ltp=ltp, bid=bid, ask=ask, iv=_four_places(iv), delta=_four_places(option_delta))


def option_quote(
    *,
    spot: Decimal | float,
    strike: Decimal | float,
    option_type: str,
    expiry: dt.date,
    now: dt.datetime,
    iv: Decimal | float | None = None,
    underlying: str | None = None,
) -> SimQuote:
    """The simulated quote of one option contract.

    Without `iv` the volatility comes off the smile around the underlying's base IV (`underlying` picks it;
    DEFAULT_VOLATILITY when unknown or not given). The same inputs always give the same quote."""
    flag = option_flag(option_type)
    s, k = _floats(spot, strike)
    years = years_to_expiry(expiry, now)
    sigma = (
        float(iv) if iv is not None else smile_iv(spot=s, strike=k, years=years, base_iv=annual_volatility(underlying))
    )
    return price_option(flag, s, k, years, sigma)


def implied_delta(
    *,
    price: Decimal | float,
    spot: Decimal | float,
    strike: Decimal | float,
    option_type: str,
    expiry: dt.date,
    now: dt.datetime,
) -> Decimal | None:
    """The Black–Scholes delta at the volatility implied by a market `price`, to four places.

    None when no volatility explains the price (zero, below intrinsic value, above the maximum): a delta-based
    strike selection must then skip that contract rather than guess."""
    flag = option_flag(option_type)
    s, k = _floats(spot, strike)
    p = float(price)
    if not p > 0:
        return None
    years = years_to_expiry(expiry, now)
    try:
        sigma = implied_volatility(p, s, k, years, RISK_FREE_RATE, flag)
    except _IV_FAILURES:
        return None
    if not (math.isfinite(sigma) and sigma > 0):
        return None
    return _four_places(black_scholes_delta(flag, s, k, years, RISK_FREE_RATE, sigma))


class Market:
    """Spots of several underlyings walking by geometric Brownian motion.

    `Market({"NIFTY": 26000}, seed=7)` walks the same path on every run; `seed=None` draws from the system's
    entropy. Each underlying has its own random stream derived from (seed, name)."""

    def __init__(
        self,
        spots: Mapping[str, Decimal | float] | None = None,
        *,
        seed: int | None = None,
        volatilities: Mapping[str, float] | None = None,
    ):
        self.seed = seed
        self._volatilities = {**ANNUAL_VOLATILITY, **(volatilities or {})}
        self._spots: dict[str, float] = {}
        self._rngs: dict[str, random.Random] = {}
        for underlying, spot in (spots or {}).items():
            self.set_spot(underlying, spot)

    def __contains__(self, underlying: str) -> bool:
        return underlying in self._spots

    def underlyings(self) -> list[str]:
        return sorted(self._spots)

    def set_spot(self, underlying: str, spot: Decimal | float) -> None:
        """Place `underlying` at `spot` (adding it when new; its random stream carries on when it is not)."""
        value = float(spot)
        if not value > 0:
            raise ValueError(f"{underlying}: spot must be positive, not {spot!r}.")
        if underlying not in self._rngs:
            # A str seed is hashed with SHA-512 by `random`: the same on every run, unlike hash().
            self._rngs[underlying] = (
                random.Random(f"{self.seed}:{underlying}") if self.seed is not None else random.Random()
            )
        self._spots[underlying] = value

    def volatility(self, underlying: str) -> float:
        return self._volatilities.get(underlying, DEFAULT_VOLATILITY)

    def spot(self, underlying: str) -> Decimal:
        """The index level to two places, as the exchange publishes it."""
        return Decimal(str(self._spots[underlying])).quantize(INDEX_PRICE_STEP, rounding=ROUND_HALF_UP)

    def spots(self) -> dict[str, Decimal]:
        return {underlying: self.spot(underlying) for underlying in sorted(self._spots)}

    def step(self, dt_seconds: float = 1.0) -> None:
        """Move every spot on by `dt_seconds` of trading time (exact GBM increment, zero drift)."""
        if dt_seconds <= 0:
            return
        years = dt_seconds / TRADING_SECONDS_PER_YEAR
        root = math.sqrt(years)
        for underlying in sorted(self._spots):
            sigma = self.volatility(underlying)
            shock = self._rngs[underlying].gauss(0.0, 1.0)
            self._spots[underlying] *= math.exp(-0.5 * sigma * sigma * years + sigma * root * shock)

    def option_quote(
        self, *, underlying: str, strike: Decimal | float, option_type: str, expiry: dt.date, now: dt.datetime
    ) -> SimQuote:
        """`option_quote` on this market's current spot and the underlying's smile."""
        return self.quote_at(underlying, float(strike), option_flag(option_type), years_to_expiry(expiry, now))

    def quote_at(self, underlying: str, strike: float, flag: str, years: float) -> SimQuote:
        """The fast path for a whole chain: strike as a float, vollib's flag, years to expiry computed once."""
        spot = self._spots[underlying]
        iv = smile_iv(spot=spot, strike=strike, years=years, base_iv=self.volatility(underlying))
        return price_option(flag, spot, strike, years, iv)
