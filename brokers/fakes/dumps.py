"""Instrument dumps in each broker's format, written from a list of contracts: what the fakes serve and what
tests and the sandbox load through `load_instruments --broker`. Tokens are made up but stable per symbol."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zlib
from decimal import Decimal

KITE_COLUMNS = [
    "instrument_token",
    "exchange_token",
    "tradingsymbol",
    "name",
    "last_price",
    "expiry",
    "strike",
    "tick_size",
    "lot_size",
    "instrument_type",
    "segment",
    "exchange",
]


SEGMENTS = {"NSE": 1, "NFO": 2, "BSE": 4, "BFO": 5, "INDICES": 9}


def token(symbol: str, base: int) -> str:
    return str(base + zlib.crc32(symbol.encode()) % 9_000_000)


def kite_token(symbol: str, segment: str) -> str:
    """Kite's shape: the exchange token shifted left a byte, the segment in the low byte (KiteTicker reads it)."""
    return str(((zlib.crc32(symbol.encode()) % 4_000_000 + 1) << 8) | SEGMENTS[segment])


def angel_symbol(underlying: str, expiry: dt.date, strike: Decimal, option_type: str) -> str:
    return f"{underlying}{expiry:%d%b%y}{int(strike)}{option_type}".upper()


def kite_csv(contracts: list[dict], indices: list[dict] = ()) -> str:
    """contracts: {underlying, expiry, strike, option_type, exchange, lot_size, tradingsymbol}; indices:
    {exchange, tradingsymbol}."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(KITE_COLUMNS)
    for index in indices:
        number = kite_token(index["tradingsymbol"], "INDICES")
        writer.writerow([number, int(number) >> 8, index["tradingsymbol"], index["tradingsymbol"], 0, "", 0, 0, 0, "EQ",
                         "INDICES", index["exchange"]])  # fmt: skip
    for c in contracts:
        number = kite_token(c["tradingsymbol"], c["exchange"])
        writer.writerow([number, int(number) >> 8, c["tradingsymbol"], c["underlying"], 0, c["expiry"].isoformat(),
                         c["strike"], "0.05", c["lot_size"], c["option_type"], f"{c['exchange']}-OPT",
                         c["exchange"]])  # fmt: skip
    return out.getvalue()


def angel_scrip_master(contracts: list[dict], indices: list[dict] = ()) -> str:
    items = [
        {
            "token": token(i["tradingsymbol"], 99_900_000),
            "symbol": i["tradingsymbol"].title(),
            "name": i["tradingsymbol"].title(),
            "expiry": "",
            "strike": "0.000000",
            "lotsize": "1",
            "instrumenttype": "AMXIDX",
            "exch_seg": i["exchange"],
            "tick_size": "0.000000",
        }  # fmt: skip
        for i in indices
    ]
    for c in contracts:
        symbol = angel_symbol(c["underlying"], c["expiry"], Decimal(c["strike"]), c["option_type"])
        items.append(
            {
                "token": token(symbol, 30_000),
                "symbol": symbol,
                "name": c["underlying"],
                "expiry": f"{c['expiry']:%d%b%Y}".upper(),
                "strike": f"{Decimal(c['strike']) * 100:.6f}",
                "lotsize": str(c["lot_size"]),
                "instrumenttype": "OPTIDX",
                "exch_seg": c["exchange"],
                "tick_size": "5.000000",
            }
        )
    return json.dumps(items)
