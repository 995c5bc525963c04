"""Pre-trade checks per allocation from its risk_limits. A breach skips that account, with the reason
recorded; the other accounts proceed. Exits are never blocked: they reduce risk."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from limits.rules import Limits, execution_breach
from limits.selectors import ALLOCATION_RELATED as SIZE_LIMITS_RELATED
from limits.selectors import limits_for as size_limits

__all__ = ["SIZE_LIMITS_RELATED", "AccountDay", "Proposed", "breach", "size_limits"]


@dataclass(frozen=True)
class AccountDay:
    """What the account has done today for this strategy."""

    orders_today: int
    pnl_today: Decimal | None  # realized today + unrealized; None when a held contract has no fresh price


@dataclass(frozen=True)
class Proposed:
    orders: int
    position_value: Decimal  # Σ price × quantity over the legs to be placed
    margin: Decimal | None  # brokers.margin estimate
    funds: Decimal | None  # the account's available funds at its broker
    lots_per_leg: dict[int, int] = field(default_factory=dict)  # leg_no -> final lots on this account
    client_id: str = ""


def breach(limits: dict, day: AccountDay, proposed: Proposed, size_limits: Limits | None = None) -> str | None:
    """The first limit the proposed entry would break, in words, or None: the allocation's risk_limits, then
    the platform's size limits of the account (limits app: per leg, per execution, orders, margin vs funds)."""
    trades = limits.get("max_daily_trades")
    if trades is not None and day.orders_today + proposed.orders > int(trades):
        return f"max_daily_trades {trades}: {day.orders_today} orders today + {proposed.orders} planned would exceed it"
    loss = limits.get("max_daily_loss")
    if loss is not None and day.pnl_today is None:
        return f"max_daily_loss {loss}: today's P&L is unknown (a held contract has no fresh price)"
    if loss is not None and day.pnl_today <= -Decimal(str(loss)):
        return f"max_daily_loss {loss}: today's P&L is {day.pnl_today}"
    value = limits.get("max_position_value")
    if value is not None and proposed.position_value > Decimal(str(value)):
        return f"max_position_value {value}: this entry is worth {proposed.position_value}"
    utilization = limits.get("max_margin_utilization")
    if utilization is not None and proposed.margin is not None and proposed.funds:
        used = proposed.margin / proposed.funds * 100
        if used > Decimal(str(utilization)):
            return (
                f"max_margin_utilization {utilization}%: estimated margin {proposed.margin} is "
                f"{used.quantize(Decimal('0.1'))}% of the account's available funds {proposed.funds}"
            )
    if size_limits is not None:
        return execution_breach(
            size_limits,
            client_id=proposed.client_id or "this account",
            lots_per_leg=proposed.lots_per_leg,
            orders=proposed.orders,
            margin=proposed.margin,
            funds=proposed.funds,
        )
    return None
