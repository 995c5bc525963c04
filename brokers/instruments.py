"""Each broker's instrument master mapped onto the platform's one contract.

A contract is (underlying, expiry, strike, option type) on its exchange, whoever trades it; each broker names it
its own way (Kite: NIFTY26D0126000PE with token 12086274; Angel One: NIFTY01DEC2626000PE with token 43651). The
loaders read the broker's dump (Kite's instruments CSV, Angel One's ScripMaster JSON), from the broker or a file,
and store each broker's symbol and token in Instrument.broker_tokens[BROKER] = {"symbol", "token"}. A contract
the platform does not list yet is added (lot size and tick from the broker; freeze quantity and strike step
from the platform's other contracts of that underlying); index rows get their token by name.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction

from market.instruments import InstrumentSourceError
from market.models import Instrument

OPTION_EXCHANGES = {"NFO", "BFO"}
INDEX_EXCHANGES = {"NSE", "BSE"}


class InstrumentDumpError(InstrumentSourceError):
    """The broker's dump cannot be read; the message names the file or field."""


@dataclass(frozen=True)
class BrokerRow:
    exchange: str
    symbol: str
    token: str
    underlying: str = ""
    expiry: dt.date | None = None
    strike: Decimal | None = None
    option_type: str = ""  # CE | PE, blank for an index
    lot_size: int = 1
    tick_size: Decimal = Decimal("0.05")

    @property
    def is_option(self) -> bool:
        return bool(self.option_type)


def _decimal(value, field: str) -> Decimal:
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InstrumentDumpError(f"{field}: {value!r} is not a number") from None


def parse_kite_instruments(text: str) -> list[BrokerRow]:
    """Kite's instruments CSV (GET /instruments/{exchange}): index options and the indices themselves."""
    reader = csv.DictReader(io.StringIO(text))
    needed = {"instrument_token", "tradingsymbol", "name", "expiry", "strike", "tick_size", "lot_size"}
    missing = needed - set(reader.fieldnames or [])
    if missing:
        raise InstrumentDumpError(f"Kite instruments CSV lacks the columns {', '.join(sorted(missing))}")
    rows = []
    for line in reader:
        exchange, kind = line.get("exchange", ""), line.get("instrument_type", "")
        if exchange in OPTION_EXCHANGES and kind in ("CE", "PE") and line.get("segment", "").endswith("-OPT"):
            try:
                expiry = dt.date.fromisoformat(line["expiry"])
            except ValueError:
                raise InstrumentDumpError(f"{line['tradingsymbol']}: expiry {line['expiry']!r} is not a date") from None
            rows.append(
                BrokerRow(
                    exchange=exchange,
                    symbol=line["tradingsymbol"],
                    token=line["instrument_token"],
                    underlying=line["name"].strip().upper(),
                    expiry=expiry,
                    strike=_decimal(line["strike"], "strike"),
                    option_type=kind,
                    lot_size=int(_decimal(line["lot_size"], "lot_size")),
                    tick_size=_decimal(line["tick_size"], "tick_size"),
                )
            )
        elif exchange in INDEX_EXCHANGES and line.get("segment") == "INDICES":
            rows.append(BrokerRow(exchange=exchange, symbol=line["tradingsymbol"], token=line["instrument_token"]))
    return rows


def parse_angel_scrip_master(text: str) -> list[BrokerRow]:
    """Angel One's ScripMaster JSON: strikes and ticks in paise, expiries like 01DEC2026."""
    try:
        items = json.loads(text)
    except ValueError as exc:
        raise InstrumentDumpError(f"the ScripMaster is not JSON: {exc}") from None
    if not isinstance(items, list):
        raise InstrumentDumpError("the ScripMaster is not a JSON list")
    rows = []
    for item in items:
        exchange, kind, symbol = item.get("exch_seg", ""), item.get("instrumenttype", ""), item.get("symbol", "")
        if exchange in OPTION_EXCHANGES and kind == "OPTIDX" and symbol[-2:] in ("CE", "PE"):
            try:
                expiry = dt.datetime.strptime(item["expiry"].title(), "%d%b%Y").date()
            except (KeyError, ValueError):
                raise InstrumentDumpError(f"{symbol}: expiry {item.get('expiry')!r} is not DDMONYYYY") from None
            rows.append(
                BrokerRow(
                    exchange=exchange,
                    symbol=symbol,
                    token=str(item["token"]),
                    underlying=item["name"].strip().upper(),
                    expiry=expiry,
                    strike=(_decimal(item["strike"], "strike") / 100).quantize(Decimal("0.01")),
                    option_type=symbol[-2:],
                    lot_size=int(_decimal(item["lotsize"], "lotsize")),
                    tick_size=(_decimal(item.get("tick_size") or "5", "tick_size") / 100).quantize(Decimal("0.01")),
                )
            )
        elif exchange in INDEX_EXCHANGES and kind == "AMXIDX":
            rows.append(BrokerRow(exchange=exchange, symbol=item.get("name") or symbol, token=str(item["token"])))
    return rows


def _platform_symbol(row: BrokerRow, broker: str, monthly: set[tuple[str, dt.date]]) -> str:
    if broker == "ZERODHA":
        return row.symbol  # the platform's symbols are Kite's
    from market.instruments import option_tradingsymbol  # the platform's naming rule

    monthly_contract = (row.underlying, row.expiry) in monthly
    return option_tradingsymbol(row.underlying, row.expiry, row.strike, row.option_type, monthly=monthly_contract)


def _monthly_expiries(rows: list[BrokerRow]) -> set[tuple[str, dt.date]]:
    """(underlying, expiry) of each month's last expiry: those contracts carry the monthly symbol."""
    from market.contracts import listed_monthly_expiries

    listed: dict[str, set[dt.date]] = {}
    for row in rows:
        listed.setdefault(row.underlying, set()).add(row.expiry)
    return {(underlying, expiry) for underlying, days in listed.items() for expiry in listed_monthly_expiries(days)}


@transaction.atomic
def broker_instruments_apply(
    *, broker: str, rows: list[BrokerRow], as_of: dt.date, underlyings=None, out=print, warn=print
) -> str:
    """Store each broker row's symbol and token on the platform's contract (adding contracts not listed yet);
    returns a one-line summary. Expired contracts and other underlyings are left out."""
    wanted_underlyings = {u.upper() for u in underlyings} if underlyings else None
    options = [
        r
        for r in rows
        if r.is_option and r.expiry >= as_of and (wanted_underlyings is None or r.underlying in wanted_underlyings)
    ]
    known = {
        (i.exchange, i.underlying, i.expiry, i.strike, i.option_type): i
        for i in Instrument.objects.filter(kind=Instrument.Kind.OPTION, expiry__gte=as_of)
    }
    monthly = _monthly_expiries(options)
    templates: dict[str, Instrument] = {}
    for instrument in known.values():
        templates.setdefault(instrument.underlying, instrument)
    updated, created, mismatched = [], [], 0
    for row in options:
        entry = {"symbol": row.symbol, "token": row.token}
        key = (row.exchange, row.underlying, row.expiry, row.strike, row.option_type)
        instrument = known.get(key)
        if instrument is None:
            template = templates.get(row.underlying)
            instrument = Instrument(
                exchange=row.exchange,
                tradingsymbol=_platform_symbol(row, broker, monthly),
                kind=Instrument.Kind.OPTION,
                underlying=row.underlying,
                expiry=row.expiry,
                strike=row.strike,
                option_type=row.option_type,
                lot_size=row.lot_size,
                tick_size=row.tick_size,
                freeze_quantity=template.freeze_quantity if template else None,
                strike_step=template.strike_step if template else None,
                broker_tokens={broker: entry},
            )
            created.append(instrument)
            known[key] = instrument
            continue
        if instrument.lot_size != row.lot_size:
            mismatched += 1
            if mismatched <= 3:
                warn(
                    f"{instrument}: lot size {instrument.lot_size} here, {row.lot_size} at {broker}; "
                    "the broker's dump is newer: run load_instruments for the platform's data file"
                )
        if (instrument.broker_tokens or {}).get(broker) != entry:
            instrument.broker_tokens = {**(instrument.broker_tokens or {}), broker: entry}
            updated.append(instrument)
    indices = {(r.exchange, r.symbol.upper()): r for r in rows if not r.is_option}
    for instrument in Instrument.objects.filter(kind=Instrument.Kind.INDEX):
        row = indices.get((instrument.exchange, instrument.tradingsymbol.upper()))
        if row is not None:
            entry = {"symbol": row.symbol, "token": row.token}
            if (instrument.broker_tokens or {}).get(broker) != entry:
                instrument.broker_tokens = {**(instrument.broker_tokens or {}), broker: entry}
                updated.append(instrument)
    Instrument.objects.bulk_create(created, batch_size=2000)
    Instrument.objects.bulk_update(updated, ["broker_tokens"], batch_size=2000)
    summary = (
        f"{broker}: {len(options)} option contracts read, {len(created)} added, {len(updated)} given "
        f"{broker} symbols and tokens" + (f", {mismatched} lot sizes differ" if mismatched else "")
    )
    out(summary)
    return summary


def _read(path) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise InstrumentDumpError(f"{path}: {exc.strerror}") from None


def kite_dump() -> str:
    """Kite's NFO, BFO and index rows, fetched with the SDK (the dump needs no session)."""
    from kiteconnect import KiteConnect

    client = KiteConnect("", root=settings.KITE_API_ROOT or None, timeout=30)
    parts = [client._get("market.instruments", url_args={"exchange": e}) for e in ("NFO", "BFO", "NSE", "BSE")]
    texts = [p.decode() if isinstance(p, bytes) else str(p) for p in parts]
    header, *_ = texts[0].splitlines() or [""]
    return "\n".join([header, *(line for text in texts for line in text.splitlines()[1:])])


def angel_dump() -> str:
    import requests

    response = requests.get(settings.SMARTAPI_SCRIP_MASTER_URL, timeout=60)
    response.raise_for_status()
    return response.text


def load_zerodha_instruments(*, as_of: dt.date, underlyings=None, out=print, warn=print, path=None) -> str:
    text = _read(path) if path else kite_dump()
    rows = parse_kite_instruments(text)
    return broker_instruments_apply(
        broker="ZERODHA", rows=rows, as_of=as_of, underlyings=underlyings, out=out, warn=warn
    )


def load_angelone_instruments(*, as_of: dt.date, underlyings=None, out=print, warn=print, path=None) -> str:
    text = _read(path) if path else angel_dump()
    rows = parse_angel_scrip_master(text)
    return broker_instruments_apply(
        broker="ANGELONE", rows=rows, as_of=as_of, underlyings=underlyings, out=out, warn=warn
    )
