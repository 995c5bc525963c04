"""Estimated statutory and broker charges on Indian index-option orders. No ORM.

Every rate is a setting (`CHARGES_*`, defaults are NSE F&O options as of 2025), so the estimate follows a
change of rates without a code change. Per executed order (an order with at least one fill), on its
premium turnover T = Σ fill price × fill quantity:

- brokerage = CHARGES_BROKERAGE_PER_ORDER (flat ₹ per executed order, as discount brokers charge);
- STT = T × CHARGES_STT_SELL_RATE on the SELL side only;
- exchange transaction charge = T × CHARGES_EXCHANGE_RATE on both sides;
- SEBI turnover fee = T × CHARGES_SEBI_RATE on both sides;
- GST = (brokerage + exchange + SEBI) × CHARGES_GST_RATE;
- stamp duty = T × CHARGES_STAMP_BUY_RATE on the BUY side only.

Each component is rounded to the paisa (half up); the total is their sum. An estimate, not a contract note:
the broker's own contract note is the truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

PAISA = Decimal("0.01")


def _rate(name: str, default: str) -> Decimal:
    return Decimal(str(getattr(settings, name, default)))


@dataclass(frozen=True)
class Rates:
    brokerage_per_order: Decimal
    stt_sell: Decimal
    exchange: Decimal
    sebi: Decimal
    gst: Decimal
    stamp_buy: Decimal

    @classmethod
    def from_settings(cls) -> Rates:
        return cls(
            brokerage_per_order=_rate("CHARGES_BROKERAGE_PER_ORDER", "20"),
            stt_sell=_rate("CHARGES_STT_SELL_RATE", "0.001"),
            exchange=_rate("CHARGES_EXCHANGE_RATE", "0.0003503"),
            sebi=_rate("CHARGES_SEBI_RATE", "0.000001"),
            gst=_rate("CHARGES_GST_RATE", "0.18"),
            stamp_buy=_rate("CHARGES_STAMP_BUY_RATE", "0.00003"),
        )


@dataclass(frozen=True)
class Charges:
    brokerage: Decimal = Decimal(0)
    stt: Decimal = Decimal(0)
    exchange: Decimal = Decimal(0)
    sebi: Decimal = Decimal(0)
    gst: Decimal = Decimal(0)
    stamp: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        return self.brokerage + self.stt + self.exchange + self.sebi + self.gst + self.stamp

    def __add__(self, other: Charges) -> Charges:
        return Charges(
            brokerage=self.brokerage + other.brokerage,
            stt=self.stt + other.stt,
            exchange=self.exchange + other.exchange,
            sebi=self.sebi + other.sebi,
            gst=self.gst + other.gst,
            stamp=self.stamp + other.stamp,
        )

    def as_dict(self) -> dict[str, Decimal]:
        return {
            "brokerage": self.brokerage,
            "stt": self.stt,
            "exchange": self.exchange,
            "sebi": self.sebi,
            "gst": self.gst,
            "stamp": self.stamp,
            "total": self.total,
        }


def _paise(value: Decimal) -> Decimal:
    return value.quantize(PAISA, rounding=ROUND_HALF_UP)


def order_charges(*, side: str, turnover: Decimal, rates: Rates | None = None, brokerage: bool = True) -> Charges:
    """The charges of one executed order of `side` (BUY | SELL) with premium turnover `turnover` (₹).
    `brokerage=False` for the later days of an order that filled over several days (brokerage is charged
    once per order)."""
    if side not in ("BUY", "SELL"):
        raise ValueError(f"side must be BUY or SELL, not {side!r}")
    rates = rates or Rates.from_settings()
    turnover = Decimal(turnover)
    charged = _paise(rates.brokerage_per_order) if brokerage and turnover > 0 else Decimal(0)
    exchange = _paise(turnover * rates.exchange)
    sebi = _paise(turnover * rates.sebi)
    return Charges(
        brokerage=charged,
        stt=_paise(turnover * rates.stt_sell) if side == "SELL" else Decimal(0),
        exchange=exchange,
        sebi=sebi,
        gst=_paise((charged + exchange + sebi) * rates.gst),
        stamp=_paise(turnover * rates.stamp_buy) if side == "BUY" else Decimal(0),
    )
