"""Reads that turn Allocation rows into the lot arithmetic of allocations/lots.py, with quantities and margin."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from brokers.margin import LegQuantity, estimate_margin
from config.pages import indian_grouping
from market.selectors import UnderlyingSpec, underlying_specs
from strategies.models import Leg

from .lots import AccountLots, LegSpec, LotsError, OverrideSpec, allocate
from .models import Allocation, LegOverride


def leg_spec(leg: Leg) -> LegSpec:
    return LegSpec.from_sizing(
        position_sizing=leg.position_sizing,
        leg_no=leg.leg_no,
        base_lots=leg.lots,
        transaction_type=leg.transaction_type,
        leg_type=leg.leg_type,
        enabled=leg.enabled,
    )


def allocations_for_strategy(*, strategy) -> QuerySet[Allocation]:
    return (
        Allocation.objects.filter(strategy=strategy)
        .select_related("broker_account")
        .prefetch_related(Prefetch("leg_overrides", queryset=LegOverride.objects.select_related("leg")))
        .order_by("priority", "broker_account__client_id")
    )


def allocation_lots(allocation: Allocation, *, legs: list[Leg] | None = None) -> AccountLots:
    """Final lots per leg for one allocation; raises lots.LotsError naming the leg and the account.

    Pass `legs` (the strategy's legs, already loaded) to avoid a query per allocation.
    """
    if legs is None:
        legs = list(allocation.strategy.legs.all())
    overrides = {
        override.leg.leg_no: OverrideSpec(lots=override.lots, enabled=override.enabled)
        for override in allocation.leg_overrides.all()
    }
    return allocate(
        [leg_spec(leg) for leg in legs],
        client_id=allocation.broker_account.client_id,
        allocation_type=allocation.allocation_type,
        multiplier=allocation.strategy_lots_multiplier,
        overrides=overrides,
    )


@dataclass
class LegLine:
    leg_no: int
    transaction_type: str
    leg_type: str
    base_lots: int
    final_lots: int
    quantity: int | None
    multiplier_applied: Decimal | None
    source: str


@dataclass
class Breakdown:
    """One allocation as a trader reads it: lots and quantity per leg, totals, margin, warnings."""

    client_id: str
    legs: list[LegLine] = field(default_factory=list)
    total_lots_per_execution: int = 0
    total_quantity: int | None = 0
    legs_enabled: int = 0
    estimated_margin_required: Decimal | None = None
    lot_size: int | None = None
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def calculated_totals(self) -> dict:
        return {
            "total_lots_per_execution": self.total_lots_per_execution,
            "estimated_margin_required": self.estimated_margin_required,
            "legs_enabled": self.legs_enabled,
            "total_quantity": self.total_quantity,
        }


def breakdown(allocation: Allocation, *, legs: list[Leg], spec: UnderlyingSpec) -> Breakdown:
    """Never raises: an allocation that no longer computes (a leg changed under it) reports `errors`."""
    result = Breakdown(client_id=allocation.broker_account.client_id, lot_size=spec.lot_size)
    try:
        account = allocation_lots(allocation, legs=legs)
    except LotsError as exc:
        result.errors.append(exc.message)
        result.total_quantity = None
        return result
    by_no = {leg.leg_no: leg for leg in legs}
    for item in account.legs:
        leg = by_no[item.leg_no]
        quantity = item.final_lots * spec.lot_size if spec.lot_size else None
        result.legs.append(
            LegLine(
                leg_no=item.leg_no,
                transaction_type=leg.transaction_type,
                leg_type=leg.leg_type,
                base_lots=item.base_lots,
                final_lots=item.final_lots,
                quantity=quantity,
                multiplier_applied=item.multiplier_applied,
                source=item.source,
            )
        )
    result.total_lots_per_execution = account.total_lots
    result.legs_enabled = account.legs_enabled
    result.warnings = list(account.warnings)
    if spec.lot_size:
        result.total_quantity = sum(line.quantity for line in result.legs)
        result.estimated_margin_required = estimate_margin(
            [LegQuantity(line.leg_type, line.transaction_type, line.quantity) for line in result.legs],
            spot=spec.spot,
        )
    else:
        result.total_quantity = None
        result.warnings.append(
            f"The instrument master lists no {allocation.strategy.underlying} option contracts: quantity and "
            "margin are unknown (run `manage.py load_instruments`)."
        )
    if spec.spot is None and spec.lot_size:
        result.warnings.append(f"No {allocation.strategy.underlying} price yet: estimated margin is unknown.")
    return result


def breakdowns_for_strategy(*, strategy, allocations=None) -> list[tuple[Allocation, Breakdown]]:
    """Every allocation of a strategy with its breakdown, in a fixed number of queries."""
    legs = list(strategy.legs.order_by("leg_no"))
    allocations = list(allocations if allocations is not None else allocations_for_strategy(strategy=strategy))
    spec = underlying_specs([strategy.underlying])[strategy.underlying]
    return [(allocation, breakdown(allocation, legs=legs, spec=spec)) for allocation in allocations]


def margin_over_capital(margin, basket) -> str | None:
    """The warning when the estimated margin of a strategy's allocations exceeds its basket's deployable capital."""
    if basket is None or margin is None or margin <= basket.deployable_capital:
        return None
    return (
        f"Estimated margin ₹{indian_grouping(margin)} exceeds the basket's deployable capital "
        f"₹{indian_grouping(basket.deployable_capital)} ({basket.basket_name})."
    )


def strategy_allocation_summary(*, strategy) -> dict:
    """Per account and in total: lots per leg, total lots, quantity, legs enabled, margin, warnings."""
    pairs = breakdowns_for_strategy(strategy=strategy)
    accounts, per_leg, warnings = [], {}, []
    total_lots, total_quantity, total_margin = 0, 0, Decimal(0)
    quantity_known = margin_known = True
    for allocation, item in pairs:
        accounts.append(
            {
                "client_id": item.client_id,
                "priority": allocation.priority,
                "allocation_type": allocation.allocation_type,
                "status": allocation.status,
                "lots_per_leg": {str(line.leg_no): line.final_lots for line in item.legs},
                "quantity_per_leg": {str(line.leg_no): line.quantity for line in item.legs},
                **item.calculated_totals,
                "warnings": item.warnings,
                "errors": item.errors,
            }
        )
        for line in item.legs:
            per_leg[line.leg_no] = per_leg.get(line.leg_no, 0) + line.final_lots
        total_lots += item.total_lots_per_execution
        if item.total_quantity is None:
            quantity_known = False
        else:
            total_quantity += item.total_quantity
        if item.estimated_margin_required is None:
            margin_known = False
        else:
            total_margin += item.estimated_margin_required
        warnings.extend(item.warnings + item.errors)
    over_capital = margin_over_capital(total_margin, strategy.basket) if (margin_known and accounts) else None
    if over_capital:
        warnings.append(over_capital)
    return {
        "strategy_id": strategy.id,
        "accounts": accounts,
        "lots_per_leg": {str(no): lots for no, lots in sorted(per_leg.items())},
        "totals": {
            "accounts": len(accounts),
            "total_lots": total_lots,
            "total_quantity": total_quantity if quantity_known else None,
            "estimated_margin_required": total_margin if (margin_known and accounts) else None,
        },
        "warnings": warnings,
    }
