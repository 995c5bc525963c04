"""Which contract a leg trades, and the pure contract arithmetic around it. No ORM, no clock.

Expiry by type and offset, strike by ATM offset, distance or delta, the at-the-money strike, tick rounding, limit
prices and freeze-quantity slices, and the name a trader reads (NIFTY 08 Dec 25,600 PE). The one copy of each: the engine, the feed, the instrument loader and the
strategy builder all use these. (The exchange's expiry *dates* from the weekday rule and the holidays are
`market.calendar.weekly_expiry_dates` / `monthly_expiry_dates`.)"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from config.pages import indian_grouping
from market.quotes import QuoteView


class ContractError(Exception):
    """The leg cannot be resolved to a listed, priced contract; the message says why."""


@dataclass(frozen=True)
class Contract:
    instrument_id: int
    exchange: str
    tradingsymbol: str
    expiry: dt.date
    strike: Decimal
    option_type: str  # CE | PE
    lot_size: int
    freeze_quantity: int | None
    tick_size: Decimal
    quote: QuoteView | None


OPTION_TYPE = {"CALL": "CE", "PUT": "PE"}


def listed_monthly_expiries(listed: Iterable[dt.date]) -> list[dt.date]:
    """The monthly contracts among listed expiries: the last listed expiry of each month, ascending."""
    by_month: dict[tuple[int, int], dt.date] = {}
    for day in sorted(set(listed)):
        by_month[(day.year, day.month)] = day
    return sorted(by_month.values())


def pick_expiry(expiries: list[dt.date], *, expiry_type: str, offset: int) -> dt.date:
    """WEEKLY: the offset-th listed expiry (0 = nearest). MONTHLY: the offset-th last-expiry-of-its-month.
    Expiries in the master are already moved off holidays."""
    expiries = listed_monthly_expiries(expiries) if expiry_type == "MONTHLY" else sorted(set(expiries))
    if offset >= len(expiries):
        raise ContractError(f"no {expiry_type.lower()} expiry at offset {offset}: {len(expiries)} listed")
    return expiries[offset]


def atm_strike(spot: Decimal, step: Decimal) -> Decimal:
    """The listed strike nearest to `spot` on the `step` grid (half a step rounds up)."""
    return (Decimal(spot) / step).to_integral_value(rounding=ROUND_HALF_UP) * step


def target_strike(*, leg_type: str, config: dict, atm: Decimal, step: Decimal) -> Decimal | None:
    """The strike an ATM_OFFSET or STRIKE_DISTANCE leg asks for (positive = out of the money). None for DELTA."""
    method = config.get("method")
    away = 1 if leg_type == "CALL" else -1
    if method == "ATM_OFFSET":
        return atm + away * int(config.get("atm_offset", 0)) * step
    if method == "STRIKE_DISTANCE":
        steps = (Decimal(str(config["strike_distance"])) / step).to_integral_value(rounding=ROUND_HALF_UP)
        return atm + away * steps * step
    return None


def pick_strike(
    *, leg_type: str, config: dict, atm: Decimal, step: Decimal, chain: list[Contract], delta_of
) -> Contract:
    """The contract of `chain` (one expiry, the leg's option type) that the strike selection asks for.

    `delta_of(contract) -> Decimal | None` gives a contract's delta (from its quote, or vollib on its price)."""
    if not chain:
        raise ContractError("no contracts listed for this expiry and option type")
    wanted = target_strike(leg_type=leg_type, config=config, atm=atm, step=step)
    if wanted is not None:
        for contract in chain:
            if contract.strike == wanted:
                return contract
        raise ContractError(f"strike {wanted} is not listed")
    target = Decimal(str(config["delta_value"]))
    scored = []
    for contract in chain:
        delta = delta_of(contract)
        if delta is not None:
            distance = abs(abs(Decimal(delta)) - target)
            # on a tie prefer the strike further out of the money (smaller risk for a short)
            otm = contract.strike if leg_type == "CALL" else -contract.strike
            scored.append((distance, -otm, contract))
    if not scored:
        raise ContractError("no deltas available: the chain has no prices")
    return min(scored, key=lambda item: (item[0], item[1]))[2]


def round_to_tick(price: Decimal, tick: Decimal) -> Decimal:
    """`price` on the `tick` grid (half a tick rounds up), never below one tick, as a listed option trades."""
    return max((Decimal(price) / tick).to_integral_value(rounding=ROUND_HALF_UP) * tick, tick)


def limit_price(*, side: str, ltp: Decimal, slippage: Decimal, tick: Decimal) -> Decimal:
    """Buy up to ltp + slippage, sell down to ltp − slippage, on the tick grid."""
    price = ltp + slippage if side == "BUY" else ltp - slippage
    return round_to_tick(price, tick)


def slices(quantity: int, *, lot_size: int, freeze_quantity: int | None) -> list[int]:
    """Split a quantity into exchange-acceptable orders: each at most the freeze quantity, whole lots."""
    if not freeze_quantity or quantity <= freeze_quantity:
        return [quantity]
    per_slice = max(freeze_quantity // lot_size, 1) * lot_size
    parts = [per_slice] * (quantity // per_slice)
    if quantity % per_slice:
        parts.append(quantity % per_slice)
    return parts


def contract_name(*, underlying: str, expiry, strike, option_type: str, fallback: str = "") -> str:
    """NIFTY 08 Dec 25,600 PE: underlying, expiry day and month, strike with Indian grouping, CE/PE."""
    if not (expiry and strike is not None and option_type):
        return fallback or underlying
    places = 0 if strike == int(strike) else 2
    return f"{underlying} {expiry:%d %b} {indian_grouping(strike, places)} {option_type}"


def instrument_name(instrument) -> str:
    """An instrument as a trader reads it (pages show it, with the broker's tradingsymbol in a title)."""
    if instrument is None:
        return "—"
    return contract_name(
        underlying=instrument.underlying,
        expiry=instrument.expiry,
        strike=instrument.strike,
        option_type=instrument.option_type,
        fallback=instrument.tradingsymbol,
    )
