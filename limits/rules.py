"""The size limits as values and the checks on them: pure functions, no ORM."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

NAMES = ("max_lots_per_leg", "max_lots_per_execution", "max_orders_per_execution", "max_margin_percent")


@dataclass(frozen=True)
class Limits:
    max_lots_per_leg: int
    max_lots_per_execution: int
    max_orders_per_execution: int
    max_margin_percent: Decimal


def lots_breach(limits: Limits, *, client_id: str, lots_per_leg: dict[int, int]) -> tuple[str, str] | None:
    """(limit name, message) for the first lots limit the legs would break on this account, or None."""
    for leg_no, lots in sorted(lots_per_leg.items()):
        if lots > limits.max_lots_per_leg:
            return "max_lots_per_leg", (
                f"leg {leg_no} would trade {lots} lots on {client_id}; max_lots_per_leg is {limits.max_lots_per_leg}"
            )
    total = sum(lots_per_leg.values())
    if total > limits.max_lots_per_execution:
        return "max_lots_per_execution", (
            f"{total} lots in one execution on {client_id}; max_lots_per_execution is {limits.max_lots_per_execution}"
        )
    return None


def execution_breach(
    limits: Limits,
    *,
    client_id: str,
    lots_per_leg: dict[int, int],
    orders: int,
    margin: Decimal | None,
    funds: Decimal | None,
) -> str | None:
    """The first limit an entry would break on this account, in words, or None."""
    lots = lots_breach(limits, client_id=client_id, lots_per_leg=lots_per_leg)
    if lots:
        return lots[1]
    if orders > limits.max_orders_per_execution:
        return f"{orders} orders in one execution on {client_id}; max_orders_per_execution is {limits.max_orders_per_execution}"
    if margin is not None and funds is not None:
        allowed = funds * limits.max_margin_percent / 100
        if margin > allowed:
            return (
                f"estimated margin {margin:.2f} is above max_margin_percent {limits.max_margin_percent}% of the "
                f"available funds {funds:.2f} on {client_id}"
            )
    return None
