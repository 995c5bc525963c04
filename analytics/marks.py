"""End-of-day marks of one book (a strategy on one broker account), rebuilt from its fills. No ORM.

For each trading day d, replaying the fills in time order with the book's own arithmetic
(`execution.services.books.fill_apply`: average price, realized P&L):

- realized_d = P&L the day's fills realized (gross);
- unrealized_d = Σ over held contracts (close_d − average price) × net quantity, at the day's close price;
- gross_d = realized_d + unrealized_d − unrealized_{d−1} (the day's mark-to-market change);
- fees_d = estimated charges (`execution.charges`) of the day's executed orders; net_d = gross_d − fees_d;
- capital_used_d = the largest margin the book needed that day (after any fill, or held from the day
  before), by the paper margin model (`brokers.margin.estimate_margin`) with the mean strike of the held
  contracts standing in for spot: the capital deployed that day.

The same split is kept per leg number (each contract belongs to the leg whose orders traded it), so that
P&L can be attributed by strategy, by account and by leg. A held contract without a close price is marked
at its average price (unrealized 0) and the mark says `priced=False`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from brokers.margin import LegQuantity, estimate_margin
from execution.charges import Charges, Rates, order_charges
from execution.services.books import fill_apply

ZERO = Decimal(0)


@dataclass(frozen=True)
class FillRow:
    day: dt.date  # the exchange-local trading day of the fill
    order_id: object
    instrument_id: int
    leg_no: int
    side: str
    quantity: int
    price: Decimal
    strike: Decimal
    option_type: str  # CE | PE


@dataclass
class _Book:
    """Duck-typed like `execution.models.Position` for `fill_apply`."""

    net_quantity: int = 0
    open_cost: Decimal = ZERO
    average_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    strike: Decimal = ZERO
    option_type: str = ""
    leg_no: int = 0


@dataclass
class DayMark:
    day: dt.date
    realized: Decimal = ZERO
    unrealized: Decimal = ZERO
    gross: Decimal = ZERO
    charges: Charges = field(default_factory=Charges)
    capital_used: Decimal = ZERO
    by_leg: dict[int, dict[str, Decimal]] = field(default_factory=dict)
    closes: dict[int, Decimal] = field(default_factory=dict)
    priced: bool = True
    open_quantity: int = 0  # Σ |net quantity| at the close

    @property
    def fees(self) -> Decimal:
        return self.charges.total

    @property
    def net(self) -> Decimal:
        return self.gross - self.fees


def _margin(books: dict[int, _Book]) -> Decimal:
    held = [b for b in books.values() if b.net_quantity]
    if not held:
        return ZERO
    spot = sum((b.strike for b in held), ZERO) / len(held)
    legs = [
        LegQuantity(
            leg_type="CALL" if b.option_type == "CE" else "PUT",
            transaction_type="BUY" if b.net_quantity > 0 else "SELL",
            quantity=abs(b.net_quantity),
        )
        for b in held
    ]
    return estimate_margin(legs, spot=spot) or ZERO


def replay(
    fills: Sequence[FillRow],
    *,
    days: Sequence[dt.date],
    close: Callable[[dt.date, int], Decimal | None],
    rates: Rates | None = None,
) -> list[DayMark]:
    """One mark per day of `days` (ascending trading days; fills on other days are applied on the next
    listed day). `close(day, instrument_id)` is the contract's close price that day, or None."""
    rates = rates or Rates.from_settings()
    fills = sorted(fills, key=lambda f: f.day)  # stable: the caller's time order within a day is kept
    books: dict[int, _Book] = {}
    charged_orders: set = set()
    previous_unrealized: dict[int, Decimal] = {}
    marks, i = [], 0
    for day in days:
        mark = DayMark(day=day)
        legs: dict[int, dict[str, Decimal]] = defaultdict(lambda: {"realized": ZERO, "unrealized": ZERO, "fees": ZERO})
        peak = _margin(books)
        turnover: dict[tuple, Decimal] = defaultdict(lambda: ZERO)
        order_leg: dict = {}
        while i < len(fills) and fills[i].day <= day:
            f = fills[i]
            book = books.setdefault(f.instrument_id, _Book(strike=f.strike, option_type=f.option_type, leg_no=f.leg_no))
            book.leg_no = f.leg_no
            realized = fill_apply(position=book, side=f.side, quantity=f.quantity, price=f.price)
            mark.realized += realized
            legs[f.leg_no]["realized"] += realized
            turnover[(f.order_id, f.side)] += f.price * f.quantity
            order_leg[f.order_id] = f.leg_no
            peak = max(peak, _margin(books))
            i += 1
        for (order_id, side), amount in turnover.items():
            # brokerage once per order, on the day it first filled
            charges = order_charges(side=side, turnover=amount, rates=rates, brokerage=order_id not in charged_orders)
            charged_orders.add(order_id)
            mark.charges = mark.charges + charges
            legs[order_leg[order_id]]["fees"] += charges.total
        unrealized_now: dict[int, Decimal] = {}
        for instrument_id, book in books.items():
            if not book.net_quantity:
                continue
            price = close(day, instrument_id)
            if price is None:
                mark.priced = False
                price = book.average_price
            mark.closes[instrument_id] = price
            value = (price - book.average_price) * book.net_quantity
            unrealized_now[instrument_id] = value
            mark.open_quantity += abs(book.net_quantity)
        for instrument_id in set(unrealized_now) | set(previous_unrealized):
            leg_no = books[instrument_id].leg_no
            change = unrealized_now.get(instrument_id, ZERO) - previous_unrealized.get(instrument_id, ZERO)
            legs[leg_no]["unrealized"] += change
        mark.unrealized = sum(unrealized_now.values(), ZERO)
        mark.gross = mark.realized + mark.unrealized - sum(previous_unrealized.values(), ZERO)
        mark.capital_used = peak
        mark.by_leg = {
            leg_no: {
                "gross": parts["realized"] + parts["unrealized"],
                "fees": parts["fees"],
                "net": parts["realized"] + parts["unrealized"] - parts["fees"],
            }
            for leg_no, parts in sorted(legs.items())
        }
        previous_unrealized = unrealized_now
        marks.append(mark)
    return marks


@dataclass(frozen=True)
class TradeFill:
    account_id: object
    instrument_id: int
    order_id: object
    side: str
    quantity: int
    price: Decimal


def closed_trades(fills: Sequence[TradeFill], *, rates: Rates | None = None) -> list[tuple[int, Decimal]]:
    """(index of the closing fill, net P&L) of each closed trade of a strategy, in order: a trade opens when the strategy's book (all its
    accounts) goes from flat to holding and closes when it is flat again: an entry and its exit. Its P&L is
    the P&L its fills realized minus the estimated charges of its orders. A trade still open is not listed."""
    rates = rates or Rates.from_settings()
    books: dict[tuple, _Book] = {}
    result: list[Decimal] = []
    realized, turnover = ZERO, defaultdict(lambda: ZERO)
    holding = 0
    for index, f in enumerate(fills):
        book = books.setdefault((f.account_id, f.instrument_id), _Book())
        before = book.net_quantity
        realized += fill_apply(position=book, side=f.side, quantity=f.quantity, price=f.price)
        turnover[(f.order_id, f.side)] += f.price * f.quantity
        holding += (book.net_quantity != 0) - (before != 0)
        if holding == 0:
            fees = sum(
                (
                    order_charges(side=side, turnover=amount, rates=rates).total
                    for (_, side), amount in turnover.items()
                ),
                ZERO,
            )
            result.append((index, realized - fees))
            realized, turnover = ZERO, defaultdict(lambda: ZERO)
    return result
