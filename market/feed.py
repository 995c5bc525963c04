"""The market-data feed: which instruments need a price, where prices come from, and one upsert per cycle.

Every cycle (`manage.py run_feed`, once a second on the wall-clock second):

1. `instruments_to_quote(now)` picks the instruments worth pricing, in at most four queries however many there
   are: the index of every underlying with an ACTIVE strategy or an open position, the option contracts those
   strategies can select (nearest expiries, strikes around the money) and every open position's contract.
   What is wanted comes from the apps above through `register_quote_demand` (strategies: the chains their legs
   can resolve to; execution: the contracts held), so this module imports none of them;
2. a `FeedSource` prices them: `PaperFeed` simulates the market (market.pricing); a broker websocket (Kite
   ticker, SmartAPI) can take its place by implementing the same one-method protocol;
3. `quotes_upsert` writes all of them in ONE `INSERT … ON CONFLICT DO UPDATE` (one statement on PostgreSQL;
   Django splits it into batches inside one transaction on SQLite).

Readers use `quote_state` (ltp/bid/ask/updated_at plus a stale flag from QUOTE_STALE_SECONDS).
After each cycle `run_feed` calls the hooks registered with `register_after_cycle` (execution syncs its working
orders there, and checks its stop-losses after each cycle that wrote quotes).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple, Protocol

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import F, Q, QuerySet

from config.db import array_type

from .calendar import EXCHANGE_TZ
from .contracts import atm_strike, listed_monthly_expiries
from .models import Instrument, Quote
from .pricing import Market, option_flag, years_to_expiry
from .quotes import is_stale, reference_spots

logger = logging.getLogger(__name__)

DEFAULT_STRIKES_EACH_SIDE = 30
# A leg at expiry offset n needs the (n+1)th nearest expiry; one more covers the roll when the nearest expires.
EXPIRY_HEADROOM = 2
# A paused process (a laptop asleep) resumes with at most this much market move, not hours of it at once.
MAX_STEP_SECONDS = 60
QUOTE_UPDATE_FIELDS = ["ltp", "bid", "ask", "oi", "iv", "delta", "updated_at"]


class FeedInstrument(NamedTuple):
    """An instrument as the feed sees it. A plain tuple rather than a model instance: the feed reads thousands
    of them every second and never needs model behaviour (building Instrument objects, and decoding each row's
    broker_tokens JSON, cost more than the query itself)."""

    id: int
    exchange: str
    tradingsymbol: str
    kind: str
    underlying: str
    expiry: dt.date | None
    strike: Decimal | None
    option_type: str
    strike_step: Decimal | None
    last_ltp: Decimal | None = None  # INDEX rows: the stored quote's ltp, where a walk resumes


FEED_FIELDS = FeedInstrument._fields[:-1]


@dataclass(frozen=True)
class Tick:
    """One instrument's latest prices as a source reports them (indices have no bid/ask, iv or delta)."""

    instrument_id: int
    ltp: Decimal
    bid: Decimal | None = None
    ask: Decimal | None = None
    iv: Decimal | None = None
    delta: Decimal | None = None
    oi: int | None = None


class FeedSource(Protocol):
    """Where prices come from: the paper simulator now, a broker websocket later."""

    def snapshot(self, instruments: Sequence[FeedInstrument], now: dt.datetime) -> list[Tick]:
        """The latest prices of `instruments` as of `now`; an instrument the source has no price for is left out.

        INDEX rows carry `last_ltp` (the stored quote's ltp, or None), so a simulator can carry on from where the
        last run stopped. A websocket source keeps its own id -> token map (Instrument.broker_tokens, read when
        the set of ids changes), subscribes to what it is asked for and answers from its latest ticks."""
        ...


@dataclass(frozen=True)
class CycleResult:
    instruments: int  # asked for
    quotes: int  # written


@dataclass(frozen=True)
class QuoteState:
    ltp: Decimal | None
    bid: Decimal | None
    ask: Decimal | None
    updated_at: dt.datetime | None
    stale: bool


# Staleness and reference spots live in market/quotes.py (the engine reads them too).


def quote_state(
    instrument_ids: Iterable[int], now: dt.datetime, *, threshold_seconds: float | None = None
) -> dict[int, QuoteState]:
    """Per requested instrument id, its latest quote and whether it is stale (QUOTE_STALE_SECONDS by default).

    One query. An instrument without a quote is present with empty prices and `stale=True`."""
    threshold = settings.QUOTE_STALE_SECONDS if threshold_seconds is None else threshold_seconds
    ids = set(instrument_ids)
    states = {pk: QuoteState(None, None, None, None, True) for pk in ids}
    rows = Quote.objects.filter(instrument_id__in=ids).values_list("instrument_id", "ltp", "bid", "ask", "updated_at")
    for pk, ltp, bid, ask, updated_at in rows:
        states[pk] = QuoteState(ltp, bid, ask, updated_at, is_stale(updated_at, now, threshold))
    return states


# What to quote

WEEKLY, MONTHLY = "WEEKLY", "MONTHLY"  # a leg's expiry type (strategies.Leg.ExpiryType values)


@dataclass(frozen=True)
class QuoteDemand:
    """What one app needs priced.

    - `chains`: per underlying, the furthest expiry offset per expiry type ("WEEKLY"/"MONTHLY") its legs can
      resolve to; the underlying's index and its option chain around the money at those expiries are quoted.
    - `held`: instrument ids whose contracts are held (a lazy `values("instrument_id")` queryset, so that it runs
      inside the feed's own queries); their underlyings' indices are quoted too, active or not."""

    chains: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    held: QuerySet | None = None


_demand_sources: list[Callable[[], QuoteDemand]] = []
_after_cycle_hooks: list[tuple[Callable[[], None], bool]] = []  # (hook, also after a failed cycle)


_live_sources: list[Callable[[], FeedSource | None]] = []


def register_feed_source(factory: Callable[[], FeedSource | None]) -> None:
    """Add a live quote source: `factory()` returns a FeedSource when it can serve quotes now (a broker app's,
    when one of its accounts is connected) or None. `feed_source` takes the first that answers."""
    if factory not in _live_sources:
        _live_sources.append(factory)


def feed_source(*, seed: int | None = None) -> FeedSource:
    """The live source a broker app offers (registered with `register_feed_source`), else the simulated
    paper feed. A factory that raises is logged and skipped: quotes never stop because a broker is down."""
    for factory in _live_sources:
        try:
            source = factory()
        except Exception:
            logging.getLogger("market.feed").exception("live feed source %r failed; trying the next", factory)
            continue
        if source is not None:
            return source
    return PaperFeed(seed=seed)


def register_quote_demand(source: Callable[[], QuoteDemand]) -> None:
    """Add a source of `QuoteDemand` (called once per cycle); apps register theirs in `AppConfig.ready`."""
    if source not in _demand_sources:
        _demand_sources.append(source)


def register_after_cycle(hook: Callable[[], None], *, also_after_failed: bool = False) -> None:
    """Add a hook `run_feed` calls, in registration order, after every cycle that wrote quotes, and with
    `also_after_failed` after a failed one too. An exception in a hook is logged, not raised."""
    if all(registered is not hook for registered, _ in _after_cycle_hooks):
        _after_cycle_hooks.append((hook, also_after_failed))


def after_cycle_hooks(*, quoted: bool) -> list[Callable[[], None]]:
    """The hooks due after a cycle that wrote quotes (`quoted`) or failed."""
    return [hook for hook, also_after_failed in _after_cycle_hooks if quoted or also_after_failed]


def quote_demand() -> QuoteDemand:
    """Every registered source's demand, merged: the furthest offset per expiry type wins."""
    chains: dict[str, dict[str, int]] = defaultdict(dict)
    held: list[QuerySet] = []
    for source in _demand_sources:
        demand = source()
        for underlying, offsets in demand.chains.items():
            for expiry_type, offset in offsets.items():
                chains[underlying][expiry_type] = max(chains[underlying].get(expiry_type, 0), offset)
        if demand.held is not None:
            held.append(demand.held)
    return QuoteDemand(chains=dict(chains), held=held[0] if len(held) == 1 else _union(held))


def _union(querysets: list[QuerySet]) -> QuerySet | None:
    if not querysets:
        return None
    combined = querysets[0]
    for queryset in querysets[1:]:
        combined = combined.union(queryset)
    return combined


def needed_expiries(listed: Sequence[dt.date], max_offsets: Mapping[str, int]) -> list[dt.date]:
    """The expiries legs can resolve to: for WEEKLY legs the nearest max(offset)+2 listed expiries, for MONTHLY
    legs the nearest max(offset)+2 monthly ones. `listed` is sorted; `max_offsets` maps expiry type to offset."""
    wanted: set[dt.date] = set()
    if WEEKLY in max_offsets:
        wanted.update(listed[: max_offsets[WEEKLY] + EXPIRY_HEADROOM])
    if MONTHLY in max_offsets:
        wanted.update(listed_monthly_expiries(listed)[: max_offsets[MONTHLY] + EXPIRY_HEADROOM])
    return sorted(wanted)


def instruments_to_quote(now: dt.datetime, *, strikes_each_side: int | None = None) -> list[FeedInstrument]:
    """The instruments the platform needs priced at `now`, indices first, in at most four queries:

    - the INDEX row of every underlying with an ACTIVE strategy or an open position (annotated `last_ltp`);
    - for each underlying with an ACTIVE strategy, its active option contracts at the expiries its legs can resolve
      to (`needed_expiries`), strikes within ±`strikes_each_side` steps (FEED_STRIKES_EACH_SIDE, default 30) of
      the money (the last index quote, else the data file's reference spot);
    - the contract of every open position (net quantity not zero), active or not.
    """
    each_side = (
        strikes_each_side
        if strikes_each_side is not None
        else getattr(settings, "FEED_STRIKES_EACH_SIDE", DEFAULT_STRIKES_EACH_SIDE)
    )
    today = now.astimezone(EXCHANGE_TZ).date()

    # 1. What the registered sources want: the chains of active strategies (one query), the held contracts (lazy).
    demand = quote_demand()
    offsets = demand.chains
    held_underlyings = Q()
    if demand.held is not None:
        held_underlyings = Q(underlying__in=Instrument.objects.filter(id__in=demand.held).values("underlying"))

    # 2. Their indices and those of held contracts' underlyings, with the last stored price.
    index_rows = (
        Instrument.objects.filter(kind=Instrument.Kind.INDEX, active=True)
        .filter(Q(underlying__in=list(offsets)) | held_underlyings)
        .annotate(last_ltp=F("quote__ltp"))
        .values_list(*FEED_FIELDS, "last_ltp")
        .order_by("underlying", "id")
    )
    indices = [FeedInstrument._make(row) for row in index_rows]

    # 3. The listed expiries of the strategies' underlyings.
    listed: dict[str, list[dt.date]] = defaultdict(list)
    if offsets:
        expiry_rows = (
            Instrument.objects.filter(
                kind=Instrument.Kind.OPTION, active=True, underlying__in=list(offsets), expiry__gte=today
            )
            .values_list("underlying", "expiry")
            .distinct()
            .order_by("underlying", "expiry")
        )
        for underlying, expiry in expiry_rows:
            listed[underlying].append(expiry)

    # 4. The chains around the money, and open positions' contracts.
    index_by_underlying = {}
    for index in indices:
        index_by_underlying.setdefault(index.underlying, index)
    chains = Q()
    for underlying, max_offsets in offsets.items():
        index = index_by_underlying.get(underlying)
        spot = (index.last_ltp if index else None) or reference_spots().get(underlying)
        if index is None or not index.strike_step or spot is None or not listed[underlying]:
            continue
        atm = atm_strike(spot, index.strike_step)
        chains |= Q(
            underlying=underlying,
            expiry__in=needed_expiries(listed[underlying], max_offsets),
            strike__gte=atm - each_side * index.strike_step,
            strike__lte=atm + each_side * index.strike_step,
        )
    wanted = Q(id__in=demand.held) if demand.held is not None else Q(pk__in=[])
    if chains:
        wanted |= Q(kind=Instrument.Kind.OPTION, active=True) & chains
    contracts = (
        Instrument.objects.filter(wanted)
        .values_list(*FEED_FIELDS)
        .order_by("underlying", "expiry", "strike", "option_type")
    )
    seen = {index.id for index in indices}
    return indices + [FeedInstrument(*row) for row in contracts if row[0] not in seen]


# Prices


class PaperFeed:
    """The paper exchange's feed: one `Market` random walk per underlying, Black–Scholes option quotes.

    Each underlying starts from its stored index quote (`last_ltp`), else the data file's reference spot, and then
    walks by the time between successive `snapshot` calls. Deterministic under a seed for the same instants."""

    def __init__(self, seed: int | None = None, *, reference: Mapping[str, Decimal] | None = None):
        self.market = Market(seed=seed)
        self._reference = reference
        self._last_now: dt.datetime | None = None
        self._no_spot: set[str] = set()

    def snapshot(self, instruments: Sequence[FeedInstrument], now: dt.datetime) -> list[Tick]:
        if self._last_now is not None:
            elapsed = (now - self._last_now).total_seconds()
            if elapsed > 0:
                self.market.step(min(elapsed, MAX_STEP_SECONDS))
        if self._last_now is None or now > self._last_now:
            self._last_now = now

        for instrument in instruments:
            if instrument.kind == Instrument.Kind.INDEX and instrument.underlying not in self.market:
                self._start(instrument.underlying, instrument.last_ltp)

        ticks = []
        years: dict[dt.date, float] = {}  # per expiry, once a cycle
        for instrument in instruments:
            underlying = instrument.underlying
            if underlying not in self.market and not self._start(underlying, None):
                continue
            if instrument.kind == Instrument.Kind.INDEX:
                ticks.append(Tick(instrument.id, ltp=self.market.spot(underlying)))
                continue
            if instrument.expiry not in years:
                years[instrument.expiry] = years_to_expiry(instrument.expiry, now)
            quote = self.market.quote_at(
                underlying, float(instrument.strike), option_flag(instrument.option_type), years[instrument.expiry]
            )
            ticks.append(Tick(instrument.id, quote.ltp, quote.bid, quote.ask, quote.iv, quote.delta))
        return ticks

    def _start(self, underlying: str, last_ltp: Decimal | None) -> bool:
        reference = self._reference if self._reference is not None else reference_spots()
        spot = last_ltp if last_ltp else reference.get(underlying)
        if spot is None:
            if underlying not in self._no_spot:
                self._no_spot.add(underlying)
                logger.warning("No stored index quote and no reference spot for %s: not priced.", underlying)
            return False
        self.market.set_spot(underlying, spot)
        return True


# Writes


def quotes_upsert(*, ticks: Iterable[Tick], at: dt.datetime) -> int:
    """Insert or update the quote of every ticked instrument, stamped `at`, in one bulk upsert; returns the count.

    Rows go in instrument order so two writers can never deadlock on each other's rows."""
    latest = {tick.instrument_id: tick for tick in ticks}  # ON CONFLICT may touch a row only once per statement
    rows = [
        Quote(
            instrument_id=pk,
            ltp=tick.ltp,
            bid=tick.bid,
            ask=tick.ask,
            oi=tick.oi,
            iv=tick.iv,
            delta=tick.delta,
            updated_at=at,
        )
        for pk, tick in sorted(latest.items())
    ]
    if rows and connection.vendor == "postgresql":
        _upsert_postgresql(rows, at)
    elif rows:
        Quote.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["instrument"], update_fields=QUOTE_UPDATE_FIELDS
        )
    return len(rows)


def _upsert_postgresql(rows: list[Quote], at: dt.datetime) -> None:
    """The same upsert as bulk_create(update_conflicts=True), as one INSERT … SELECT FROM UNNEST … ON CONFLICT
    with one array per column: half of bulk_create's time went into preparing each value in Python. Identifiers
    are quoted and arrays cast to the columns' base types, as in config.db."""
    quote = connection.ops.quote_name
    table = quote(Quote._meta.db_table)
    columns = ["ltp", "bid", "ask", "oi", "iv", "delta"]
    fields = {name: Quote._meta.get_field(name) for name in [*columns, "instrument", "updated_at"]}
    names = {name: quote(field.column) for name, field in fields.items()}
    casts = ", ".join(f"%s::{array_type(fields[name], connection)}[]" for name in ["instrument", *columns])
    updates = ", ".join(f"{names[f]} = EXCLUDED.{names[f]}" for f in QUOTE_UPDATE_FIELDS)
    sql = (
        f"INSERT INTO {table} ({names['instrument']}, {', '.join(names[c] for c in columns)}, {names['updated_at']}) "
        f"SELECT u.*, %s FROM UNNEST({casts}) AS u "
        f"ON CONFLICT ({names['instrument']}) DO UPDATE SET {updates}"
    )
    values = [[row.instrument_id for row in rows]] + [[getattr(row, c) for row in rows] for c in columns]
    with connection.cursor() as cursor:
        cursor.execute(sql, [at, *values])


def feed_cycle(source: FeedSource, now: dt.datetime, *, strikes_each_side: int | None = None) -> CycleResult:
    """One feed cycle at `now`: pick the instruments, price them with `source`, upsert their quotes.

    A fixed number of queries whatever the number of instruments: four reads and one write."""
    instruments = instruments_to_quote(now, strikes_each_side=strikes_each_side)
    ticks = source.snapshot(instruments, now)
    return CycleResult(instruments=len(instruments), quotes=quotes_upsert(ticks=ticks, at=now))


# The loop


class StopFlag(Protocol):
    """What the loop sleeps on: `threading.Event` fits; `run_feed` uses one that signals wake."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float) -> bool: ...


@dataclass(frozen=True)
class CycleReport:
    number: int  # 1-based
    due: dt.datetime  # the boundary this cycle ran for (the quotes' updated_at)
    lateness: float  # seconds from the boundary to the cycle's start
    duration: float  # seconds the cycle took
    skipped: int  # boundaries passed over after this cycle because it overran
    result: CycleResult | None  # None when the cycle failed


def run_feed_loop(
    source: FeedSource,
    *,
    interval: float = 1.0,
    cycles: int | None = None,
    stop: StopFlag | None = None,
    on_cycle: Callable[[CycleReport], None] | None = None,
    strikes_each_side: int | None = None,
) -> int:
    """Run `feed_cycle` on every wall-clock boundary of `interval` seconds until `stop` is set or `cycles` ran.

    Boundaries are multiples of `interval` since the epoch, so lateness never accumulates; a cycle that overruns
    its slot makes the loop skip to the next boundary ahead (reported as `skipped`) rather than run late ones back
    to back. A database error fails that cycle only (logged, connection reset). Returns the cycles run."""
    if interval <= 0:
        raise ValueError("interval must be positive.")
    stop = stop or threading.Event()
    slot = math.floor(time.time() / interval) + 1
    done = 0
    while cycles is None or done < cycles:
        due = slot * interval
        while (remaining := due - time.time()) > 0:
            if stop.wait(remaining):
                return done
        if stop.is_set():
            return done
        started = time.time()
        now = dt.datetime.fromtimestamp(due, tz=dt.UTC)
        try:
            result = feed_cycle(source, now, strikes_each_side=strikes_each_side)
        except DatabaseError:
            logger.exception("Feed cycle at %s failed; the next one reconnects.", now.isoformat())
            if not connection.in_atomic_block:
                connection.close()
            result = None
        finished = time.time()
        done += 1
        next_slot = max(slot + 1, math.floor(finished / interval) + 1)
        if on_cycle is not None:
            on_cycle(
                CycleReport(
                    number=done,
                    due=now,
                    lateness=started - due,
                    duration=finished - started,
                    skipped=next_slot - slot - 1,
                    result=result,
                )
            )
        slot = next_slot
    return done
