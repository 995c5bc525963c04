"""Where the instrument master comes from: a small registry of instrument sources, and the paper one.

`manage.py load_instruments --broker NAME` runs the source registered under NAME (default `paper`). The paper
source lists, for each underlying of market/data/underlyings.json, one INDEX row and CE/PE OPTION rows for its
next weekly and monthly expiries (moved off holidays in the Holiday table, so run `seed_calendar` first) at
strikes around the reference spot. Contract figures (lot size, freeze quantity, steps) live in the data file,
never here. Re-running adds what is missing, brings lot sizes, freeze quantities and steps of the listed contracts
in line with the file, and marks expired contracts inactive.

A live broker's app registers its own source in its `AppConfig.ready`:

    from market.instruments import register_instrument_source
    register_instrument_source("zerodha", load_zerodha_instruments, "Zerodha's instrument dump")

A source is `load(*, as_of, underlyings, out, warn) -> str`: `underlyings` is None for all, `out`/`warn` write a
line of progress / a warning, and the returned line summarises what changed.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction

from . import calendar
from .contracts import atm_strike
from .models import Instrument
from .quotes import DATA_FILE
from .selectors import holidays_between, last_holiday_date


class InstrumentSourceError(ValueError):
    """The source cannot load: bad input (an unknown underlying) or a bad data file; the message says which."""


@dataclass(frozen=True)
class InstrumentSource:
    name: str
    load: Callable[..., str]
    description: str = ""


_sources: dict[str, InstrumentSource] = {}


def register_instrument_source(name: str, load: Callable[..., str], description: str = "") -> None:
    """Make `load_instruments --broker <name>` run `load`; registering a name again replaces it."""
    _sources[name.lower()] = InstrumentSource(name.lower(), load, description)


def instrument_sources() -> dict[str, InstrumentSource]:
    return dict(sorted(_sources.items()))


def instruments_load(*, source: str, as_of: dt.date, underlyings=None, out=print, warn=print, path=None) -> str:
    """Run the named instrument source; InstrumentSourceError names an unknown source. `path` is a file the
    source reads instead of fetching its dump (a broker source's `--file`); the paper source takes none."""
    try:
        chosen = _sources[source.lower()]
    except KeyError:
        raise InstrumentSourceError(
            f"Unknown instrument source {source!r}; known: {', '.join(instrument_sources()) or 'none'}."
        ) from None
    if path is None:
        return chosen.load(as_of=as_of, underlyings=underlyings, out=out, warn=warn)
    if "path" not in inspect.signature(chosen.load).parameters:
        raise InstrumentSourceError(f"The {chosen.name} source reads no file; leave out --file.")
    return chosen.load(as_of=as_of, underlyings=underlyings, out=out, warn=warn, path=path)


# The paper source

PAPER = "PAPER"

# Zerodha's NFO/BFO symbols: monthly contracts carry YYMON, weekly ones YY + a month code + DD.
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKLY_MONTH_CODES = "123456789OND"

# Fields an existing row is brought in line with; everything else on a row is its identity.
SYNCED_FIELDS = ("lot_size", "freeze_quantity", "tick_size", "strike_step", "active", "broker_tokens")


@dataclass(frozen=True)
class UnderlyingListing:
    underlying: str
    index_tradingsymbol: str
    index_exchange: str
    options_exchange: str
    lot_size: int
    freeze_quantity: int
    strike_step: Decimal
    tick_size: Decimal
    reference_spot: Decimal
    weekly_expiry_weekday: str | None
    monthly_expiry_weekday: str
    weekly_expiries: int
    monthly_expiries: int
    strikes_each_side: int

    @classmethod
    def from_json(cls, item: dict) -> UnderlyingListing:
        name = item.get("underlying", "?")
        try:
            spec = cls(
                underlying=str(item["underlying"]).upper(),
                index_tradingsymbol=item["index_tradingsymbol"],
                index_exchange=item["index_exchange"],
                options_exchange=item["options_exchange"],
                lot_size=int(item["lot_size"]),
                freeze_quantity=int(item["freeze_quantity"]),
                strike_step=Decimal(str(item["strike_step"])),
                tick_size=Decimal(str(item["tick_size"])),
                reference_spot=Decimal(str(item["reference_spot"])),
                weekly_expiry_weekday=item["weekly_expiry_weekday"],
                monthly_expiry_weekday=item["monthly_expiry_weekday"],
                weekly_expiries=int(item["weekly_expiries"]),
                monthly_expiries=int(item["monthly_expiries"]),
                strikes_each_side=int(item["strikes_each_side"]),
            )
            if spec.weekly_expiry_weekday is not None:
                calendar.weekday_number(spec.weekly_expiry_weekday)
            calendar.weekday_number(spec.monthly_expiry_weekday)
        except KeyError as exc:
            raise InstrumentSourceError(f"{DATA_FILE.name}: {name} has no {exc.args[0]!r}.") from exc
        except (TypeError, ValueError, InvalidOperation) as exc:
            raise InstrumentSourceError(f"{DATA_FILE.name}: {name}: {exc}") from exc
        if spec.lot_size < 1 or spec.strike_step <= 0 or spec.reference_spot <= 0:
            raise InstrumentSourceError(
                f"{DATA_FILE.name}: {name} needs a positive lot size, strike step and reference spot."
            )
        return spec


def load_specs(path: Path = DATA_FILE) -> list[UnderlyingListing]:
    with path.open(encoding="utf-8") as fh:
        return [UnderlyingListing.from_json(item) for item in json.load(fh)["underlyings"]]


def strikes_around(spot: Decimal, step: Decimal, each_side: int) -> list[Decimal]:
    """The at-the-money strike and `each_side` strikes above and below it (positive strikes only)."""
    atm = atm_strike(spot, step)
    return [atm + i * step for i in range(-each_side, each_side + 1) if atm + i * step > 0]


def option_tradingsymbol(underlying: str, expiry: dt.date, strike: Decimal, option_type: str, *, monthly: bool) -> str:
    """Zerodha style: NIFTY26DEC26000CE for a monthly contract, NIFTY26D0126000CE for a weekly one."""
    strike_text = str(int(strike)) if strike == strike.to_integral_value() else format(strike.normalize(), "f")
    if monthly:
        period = f"{expiry:%y}{MONTHS[expiry.month - 1]}"
    else:
        period = f"{expiry:%y}{WEEKLY_MONTH_CODES[expiry.month - 1]}{expiry:%d}"
    return f"{underlying}{period}{strike_text}{option_type}"


def expiries_for(spec: UnderlyingListing, as_of: dt.date, holidays: set[dt.date]) -> tuple[list[dt.date], set[dt.date]]:
    """All listed expiries (sorted, deduplicated) and the subset that are monthly contracts."""
    weekly: list[dt.date] = []
    if spec.weekly_expiry_weekday is not None and spec.weekly_expiries > 0:
        weekly = calendar.weekly_expiry_dates(as_of, spec.weekly_expiry_weekday, spec.weekly_expiries, holidays)
    monthly = set(calendar.monthly_expiry_dates(as_of, spec.monthly_expiry_weekday, spec.monthly_expiries, holidays))
    return sorted(set(weekly) | monthly), monthly


def holiday_horizon(spec: UnderlyingListing, as_of: dt.date) -> dt.date:
    """A date past the last expiry listed from `as_of`: how far the holidays have to be read."""
    return as_of + dt.timedelta(days=7 * (spec.weekly_expiries + 1) + 31 * (spec.monthly_expiries + 1))


def load_paper_instruments(*, as_of: dt.date, underlyings=None, out=print, warn=print) -> str:
    """The paper broker's instrument master from the data file (see the module docstring)."""
    specs = _select(load_specs(), underlyings)
    wanted: dict[tuple[str, str], Instrument] = {}
    warned: set[str] = set()
    for spec in specs:
        for row in _rows_for(spec, as_of, out=out, warn=warn, warned=warned):
            wanted[(row.exchange, row.tradingsymbol)] = row

    names = [spec.underlying for spec in specs]
    with transaction.atomic():
        created, updated = _save(wanted, names)
        expired = Instrument.objects.filter(
            kind=Instrument.Kind.OPTION, underlying__in=names, expiry__lt=as_of, active=True
        ).update(active=False)
    return (
        f"Instruments as of {as_of}: {len(wanted)} listed, {created} created, {updated} updated, "
        f"{expired} expired marked inactive"
    )


def _select(specs: list[UnderlyingListing], names) -> list[UnderlyingListing]:
    if not names:
        return specs
    if isinstance(names, str):
        names = [names]
    wanted = {part.strip().upper() for name in names for part in name.split(",") if part.strip()}
    unknown = wanted - {spec.underlying for spec in specs}
    if unknown:
        raise InstrumentSourceError(
            f"Unknown underlyings {', '.join(sorted(unknown))}; {DATA_FILE.name} lists "
            f"{', '.join(spec.underlying for spec in specs)}."
        )
    return [spec for spec in specs if spec.underlying in wanted]


def _rows_for(spec: UnderlyingListing, as_of: dt.date, *, out, warn, warned: set[str]) -> list[Instrument]:
    holiday_exchange = spec.index_exchange
    horizon = holiday_horizon(spec, as_of)
    holidays = holidays_between(holiday_exchange, as_of, horizon)
    expiries, monthly = expiries_for(spec, as_of, holidays)
    if holiday_exchange not in warned:
        message = _holiday_coverage_warning(holiday_exchange, expiries)
        if message:
            warned.add(holiday_exchange)  # said once per exchange
            warn(message)
    strikes = strikes_around(spec.reference_spot, spec.strike_step, spec.strikes_each_side)

    common = {
        "underlying": spec.underlying,
        "lot_size": spec.lot_size,
        "freeze_quantity": spec.freeze_quantity,
        "tick_size": spec.tick_size,
        "strike_step": spec.strike_step,
        "active": True,
    }
    rows = [
        Instrument(
            exchange=spec.index_exchange,
            tradingsymbol=spec.index_tradingsymbol,
            kind=Instrument.Kind.INDEX,
            broker_tokens={PAPER: spec.index_tradingsymbol},
            **common,
        )
    ]
    for expiry in expiries:
        for strike in strikes:
            for option_type in (Instrument.OptionType.CE, Instrument.OptionType.PE):
                symbol = option_tradingsymbol(spec.underlying, expiry, strike, option_type, monthly=expiry in monthly)
                rows.append(
                    Instrument(
                        exchange=spec.options_exchange,
                        tradingsymbol=symbol,
                        kind=Instrument.Kind.OPTION,
                        expiry=expiry,
                        strike=strike,
                        option_type=option_type,
                        broker_tokens={PAPER: symbol},
                        **common,
                    )
                )
    out(
        f"{spec.underlying}: {len(expiries)} expiries ({', '.join(f'{e:%d %b %Y}' for e in expiries)}), "
        f"{len(strikes)} strikes {strikes[0]:f}-{strikes[-1]:f}"
    )
    return rows


def _holiday_coverage_warning(exchange: str, expiries: list[dt.date]) -> str | None:
    """The warning due when some listed expiry lies past the holidays the table knows; None when none is."""
    if not expiries:
        return None
    known_until = last_holiday_date(exchange)
    if known_until is None:
        message = (
            f"No {exchange} holidays in the Holiday table: expiries are moved off weekends only. "
            "Run `manage.py seed_calendar` first."
        )
    elif known_until < expiries[-1]:
        message = f"{exchange} holidays are recorded up to {known_until}: later expiries are moved off weekends only."
    else:
        return None
    return message


def _save(wanted: dict[tuple[str, str], Instrument], names: list[str]) -> tuple[int, int]:
    """Insert the missing rows and bring the existing ones in line; returns (created, updated).

    A key held by a row of another underlying is left alone (the insert ignores the conflict)."""
    existing = {
        (row.exchange, row.tradingsymbol): row
        for row in Instrument.objects.filter(underlying__in=names).only("exchange", "tradingsymbol", *SYNCED_FIELDS)
    }

    to_create, to_update = [], []
    for key, row in wanted.items():
        current = existing.get(key)
        if current is None:
            to_create.append(row)
            continue
        # Keep the tokens other brokers' syncs recorded; only the paper token is ours.
        tokens = {**(current.broker_tokens or {}), **row.broker_tokens}
        changed = False
        for field in SYNCED_FIELDS:
            value = tokens if field == "broker_tokens" else getattr(row, field)
            if getattr(current, field) != value:
                setattr(current, field, value)
                changed = True
        if changed:
            to_update.append(current)

    Instrument.objects.bulk_create(to_create, batch_size=1000, ignore_conflicts=True)
    Instrument.objects.bulk_update(to_update, SYNCED_FIELDS, batch_size=500)
    return len(to_create), len(to_update)
