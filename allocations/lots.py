"""The lot arithmetic: which legs each broker account trades and how many lots. Pure, no ORM.

LEG_LEVEL: an enabled override gives its lots; a leg without override trades its base lots; an override
with enabled=False excludes the leg for that account.
STRATEGY_LEVEL: floor(base_lots × strategy_lots_multiplier), in Decimal (3 × 1.1 = 3, 10 × 0.3 = 3).
A leg that would trade 0 lots, or lots outside its position_sizing, is refused (LotsError), never skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

LEG_LEVEL = "LEG_LEVEL"
STRATEGY_LEVEL = "STRATEGY_LEVEL"


class LotsError(ValueError):
    def __init__(self, message: str, *, leg_no: int | None = None, client_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.leg_no = leg_no
        self.client_id = client_id


@dataclass(frozen=True)
class LegSpec:
    leg_no: int
    base_lots: int
    transaction_type: str  # BUY | SELL
    leg_type: str  # CALL | PUT
    enabled: bool = True
    min_lots: int | None = None
    max_lots: int | None = None
    lot_increment: int | None = None

    @classmethod
    def from_sizing(cls, *, position_sizing: dict | None, **kwargs) -> LegSpec:
        sizing = position_sizing or {}
        return cls(
            min_lots=sizing.get("min_lots"),
            max_lots=sizing.get("max_lots"),
            lot_increment=sizing.get("lot_increment"),
            **kwargs,
        )


@dataclass(frozen=True)
class OverrideSpec:
    lots: int
    enabled: bool = True


@dataclass(frozen=True)
class LegLots:
    leg_no: int
    base_lots: int
    final_lots: int
    multiplier_applied: Decimal | None
    source: str  # BASE | OVERRIDE | MULTIPLIER


@dataclass
class AccountLots:
    client_id: str
    legs: list[LegLots]
    warnings: list[str] = field(default_factory=list)

    @property
    def total_lots(self) -> int:
        return sum(leg.final_lots for leg in self.legs)

    @property
    def legs_enabled(self) -> int:
        return len(self.legs)

    def lots_by_leg(self) -> dict[int, int]:
        return {leg.leg_no: leg.final_lots for leg in self.legs}


def floor_lots(base_lots: int, multiplier: Decimal) -> int:
    return int((Decimal(base_lots) * Decimal(multiplier)).to_integral_value(rounding=ROUND_FLOOR))


def _check_sizing(leg: LegSpec, lots: int, client_id: str) -> None:
    where = f"leg {leg.leg_no} for account {client_id}"
    if lots < 1:
        raise LotsError(
            f"{where} would trade {lots} lots; raise its lots or multiplier, or disable the leg for this account",
            leg_no=leg.leg_no,
            client_id=client_id,
        )
    if leg.min_lots is not None and lots < leg.min_lots:
        raise LotsError(
            f"{where} would trade {lots} lots, below the leg's min_lots {leg.min_lots}",
            leg_no=leg.leg_no,
            client_id=client_id,
        )
    if leg.max_lots is not None and lots > leg.max_lots:
        raise LotsError(
            f"{where} would trade {lots} lots, above the leg's max_lots {leg.max_lots}",
            leg_no=leg.leg_no,
            client_id=client_id,
        )
    if leg.lot_increment and lots % leg.lot_increment:
        raise LotsError(
            f"{where} would trade {lots} lots, not a multiple of the leg's lot_increment {leg.lot_increment}",
            leg_no=leg.leg_no,
            client_id=client_id,
        )


def allocate(
    legs: list[LegSpec],
    *,
    client_id: str,
    allocation_type: str,
    multiplier: Decimal | None = None,
    overrides: dict[int, OverrideSpec] | None = None,
) -> AccountLots:
    """Final lots per enabled leg for one account. Raises LotsError naming the leg and the account."""
    overrides = overrides or {}
    known = {leg.leg_no for leg in legs}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise LotsError(
            f"override for leg {unknown[0]} which the strategy lacks", leg_no=unknown[0], client_id=client_id
        )
    if allocation_type == STRATEGY_LEVEL:
        if multiplier is None or Decimal(multiplier) <= 0:
            raise LotsError("strategy_lots_multiplier must be greater than 0", client_id=client_id)
    elif allocation_type != LEG_LEVEL:
        raise LotsError(f"unknown allocation type {allocation_type!r}", client_id=client_id)

    result = []
    for leg in sorted(legs, key=lambda item: item.leg_no):
        if not leg.enabled:
            continue
        if allocation_type == STRATEGY_LEVEL:
            lots = floor_lots(leg.base_lots, Decimal(multiplier))
            entry = LegLots(leg.leg_no, leg.base_lots, lots, Decimal(multiplier), "MULTIPLIER")
        else:
            override = overrides.get(leg.leg_no)
            if override is not None and not override.enabled:
                continue
            if override is not None:
                entry = LegLots(leg.leg_no, leg.base_lots, override.lots, None, "OVERRIDE")
            else:
                entry = LegLots(leg.leg_no, leg.base_lots, leg.base_lots, None, "BASE")
        _check_sizing(leg, entry.final_lots, client_id)
        result.append(entry)
    account = AccountLots(client_id=client_id, legs=result)
    account.warnings = hedge_warnings(legs, account)
    return account


def _side_totals(pairs) -> dict[tuple[str, str], int]:
    totals: dict[tuple[str, str], int] = {}
    for leg_type, transaction_type, lots in pairs:
        key = (leg_type, transaction_type)
        totals[key] = totals.get(key, 0) + lots
    return totals


def hedge_warnings(legs: list[LegSpec], account: AccountLots) -> list[str]:
    """Warn when an account is shorter than it is long on a side whose base legs were covered."""
    enabled = [leg for leg in legs if leg.enabled]
    base = _side_totals((leg.leg_type, leg.transaction_type, leg.base_lots) for leg in enabled)
    by_no = {leg.leg_no: leg for leg in enabled}
    final = _side_totals(
        (by_no[item.leg_no].leg_type, by_no[item.leg_no].transaction_type, item.final_lots) for item in account.legs
    )
    warnings = []
    for side in ("CALL", "PUT"):
        base_short, base_long = base.get((side, "SELL"), 0), base.get((side, "BUY"), 0)
        short, long_ = final.get((side, "SELL"), 0), final.get((side, "BUY"), 0)
        if base_short and base_short <= base_long and short > long_:
            warnings.append(
                f"{account.client_id}: {side} side sells {short} lots but buys only {long_}; "
                f"the hedge of the base legs is broken for this account"
            )
    return warnings
