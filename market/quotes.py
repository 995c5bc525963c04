"""Reading prices: the Quote table first; the paper market model where the paper broker needs a price the
feed has not produced (no quote row yet, or the feed stopped while the simulated exchange goes on)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from .models import Instrument, Quote

DATA_FILE = Path(__file__).resolve().parent / "data" / "underlyings.json"


@dataclass(frozen=True)
class QuoteView:
    ltp: Decimal
    bid: Decimal
    ask: Decimal
    iv: Decimal | None
    delta: Decimal | None
    updated_at: dt.datetime | None
    stale: bool
    simulated: bool = False


def is_stale(updated_at: dt.datetime | None, now: dt.datetime, threshold_seconds: int | None = None) -> bool:
    threshold = settings.QUOTE_STALE_SECONDS if threshold_seconds is None else threshold_seconds
    return updated_at is None or (now - updated_at).total_seconds() > threshold


def view(quote: Quote, now: dt.datetime) -> QuoteView:
    return QuoteView(
        ltp=quote.ltp,
        bid=quote.bid if quote.bid is not None else quote.ltp,
        ask=quote.ask if quote.ask is not None else quote.ltp,
        iv=quote.iv,
        delta=quote.delta,
        updated_at=quote.updated_at,
        stale=is_stale(quote.updated_at, now),
    )


@lru_cache(maxsize=1)
def reference_spots() -> dict[str, Decimal]:
    data = json.loads(DATA_FILE.read_text())
    return {item["underlying"]: Decimal(str(item["reference_spot"])) for item in data["underlyings"]}


def index_spot(underlying: str) -> Decimal | None:
    """The index's last price, or the data file's reference spot when no quote was ever stored."""
    ltp = (
        Quote.objects.filter(instrument__kind=Instrument.Kind.INDEX, instrument__underlying=underlying)
        .values_list("ltp", flat=True)
        .first()
    )
    return ltp if ltp is not None else reference_spots().get(underlying)


def simulated_quote(instrument: Instrument, now: dt.datetime, *, spot: Decimal | None = None) -> QuoteView | None:
    """The paper market model's price for an option (Black–Scholes on the index spot)."""
    from .pricing import option_quote

    spot = spot if spot is not None else index_spot(instrument.underlying)
    if spot is None or instrument.kind != Instrument.Kind.OPTION:
        return None
    sim = option_quote(
        spot=spot,
        strike=instrument.strike,
        option_type=instrument.option_type,
        expiry=instrument.expiry,
        now=now,
        underlying=instrument.underlying,
    )
    return QuoteView(
        ltp=sim.ltp, bid=sim.bid, ask=sim.ask, iv=sim.iv, delta=sim.delta, updated_at=now, stale=False, simulated=True
    )


def quote_for_fill(instrument: Instrument, now: dt.datetime) -> QuoteView | None:
    """The price the paper exchange trades at: the feed's quote while fresh, else its own model."""
    try:
        quote = instrument.quote  # loaded with select_related("quote") by callers on a hot path
    except Quote.DoesNotExist:
        quote = None
    if quote is not None and not is_stale(quote.updated_at, now):
        return view(quote, now)
    if instrument.kind == Instrument.Kind.INDEX:
        return view(quote, now) if quote else None
    return simulated_quote(instrument, now)
