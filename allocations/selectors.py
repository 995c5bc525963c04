"""Reads that turn Allocation rows into the pure lot arithmetic of allocations/lots.py."""

from django.db.models import Prefetch, QuerySet

from strategies.models import Leg

from .lots import AccountLots, LegSpec, OverrideSpec, allocate
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
