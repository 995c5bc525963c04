"""Writes of allocations. Every write re-runs the lot arithmetic, so no allocation is saved that would trade
0 lots on a leg, break a leg's position_sizing, or override a leg the strategy lacks."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction

from config.exceptions import ConflictError, DomainError
from limits.rules import lots_breach
from limits.selectors import limits_for
from strategies.models import Leg, Strategy

from .lots import LEG_LEVEL, STRATEGY_LEVEL, LotsError, OverrideSpec, allocate
from .models import Allocation, LegOverride
from .selectors import allocations_for_strategy, leg_spec


@dataclass
class AllocationInput:
    account: object  # brokers.BrokerAccount of the strategy's owner
    allocation_type: str
    priority: int = 1
    strategy_lots_multiplier: Decimal | None = None
    leg_overrides: dict[int, dict] = field(default_factory=dict)  # leg_no -> {lots, enabled, notes}
    risk_limits: dict = field(default_factory=dict)
    execution_config: dict = field(default_factory=dict)
    status: str = Allocation.Status.ACTIVE


def _lots_errors(legs: list[Leg], data: AllocationInput) -> dict:
    """Field-keyed errors of the lot arithmetic for one allocation; empty when it computes."""
    try:
        lots = allocate(
            [leg_spec(leg) for leg in legs],
            client_id=data.account.client_id,
            allocation_type=data.allocation_type,
            multiplier=data.strategy_lots_multiplier,
            overrides={
                no: OverrideSpec(lots=o["lots"], enabled=o.get("enabled", True)) for no, o in data.leg_overrides.items()
            },
        )
    except LotsError as exc:
        if data.allocation_type == LEG_LEVEL and exc.leg_no is not None:
            key = "lots" if exc.leg_no in {leg.leg_no for leg in legs} else "leg_no"
            return {"leg_overrides": {str(exc.leg_no): {key: [exc.message]}}}
        return {"strategy_lots_multiplier": [exc.message]}
    breach = lots_breach(limits_for(data.account), client_id=data.account.client_id, lots_per_leg=lots.lots_by_leg())
    if breach:
        name, message = breach
        return {name: [f"{message} (a size limit ops set per account or user)."]}
    return {}


def _validate(strategy: Strategy, legs: list[Leg], data: AllocationInput) -> dict:
    if data.allocation_type == STRATEGY_LEVEL and data.leg_overrides:
        return {"leg_overrides": ["Give leg_overrides (LEG_LEVEL) or strategy_lots_multiplier, not both."]}
    if data.allocation_type == LEG_LEVEL and data.strategy_lots_multiplier is not None:
        return {"strategy_lots_multiplier": ["Give leg_overrides (LEG_LEVEL) or strategy_lots_multiplier, not both."]}
    if not legs:
        return {"non_field_errors": ["The strategy has no legs yet; add legs before allocating it."]}
    return _lots_errors(legs, data)


def _save(allocation: Allocation, legs: list[Leg], data: AllocationInput) -> Allocation:
    allocation.priority = data.priority
    allocation.allocation_type = data.allocation_type
    allocation.strategy_lots_multiplier = data.strategy_lots_multiplier
    allocation.risk_limits = data.risk_limits
    allocation.execution_config = data.execution_config
    allocation.status = data.status
    allocation.save()
    allocation.leg_overrides.all().delete()
    by_no = {leg.leg_no: leg for leg in legs}
    LegOverride.objects.bulk_create(
        LegOverride(
            allocation=allocation,
            leg=by_no[no],
            lots=o["lots"],
            enabled=o.get("enabled", True),
            notes=o.get("notes", ""),
        )
        for no, o in sorted(data.leg_overrides.items())
    )
    return allocation


@transaction.atomic
def allocations_create(*, strategy: Strategy, items: list[AllocationInput]) -> list[Allocation]:
    """Create every allocation or none. Errors come back keyed by the item's index in `items`."""
    legs = list(strategy.legs.order_by("leg_no"))
    existing = set(strategy.allocations.values_list("broker_account__client_id", flat=True))
    errors, seen = {}, set()
    for index, data in enumerate(items):
        client_id = data.account.client_id
        if client_id in seen:
            errors[index] = {"client_id": [f"{client_id} appears more than once in this request."]}
        elif client_id in existing:
            errors[index] = {"client_id": [f"{client_id} is already allocated to this strategy; update it instead."]}
        else:
            item_errors = _validate(strategy, legs, data)
            if item_errors:
                errors[index] = item_errors
        seen.add(client_id)
    if errors:
        raise DomainError({"allocations": {str(index): item for index, item in errors.items()}})
    try:
        with transaction.atomic():
            return [_save(Allocation(strategy=strategy, broker_account=data.account), legs, data) for data in items]
    except IntegrityError:
        raise ConflictError("Another request allocated this strategy at the same time; reload and retry.") from None


@transaction.atomic
def allocation_update(*, allocation: Allocation, data: AllocationInput) -> Allocation:
    legs = list(allocation.strategy.legs.order_by("leg_no"))
    errors = _validate(allocation.strategy, legs, data)
    if errors:
        raise DomainError(errors)
    return _save(allocation, legs, data)


def allocation_delete(*, allocation: Allocation) -> None:
    allocation.delete()


@transaction.atomic
def allocations_replace(*, strategy: Strategy, items: list[AllocationInput]) -> list[Allocation]:
    """Make the strategy's allocations exactly `items` (at most one per account), all or nothing: an account's
    existing allocation is updated, an account without one gets a new one, and an allocation whose account is not
    among `items` is deleted. Each item is checked as `allocation_update` / `allocations_create` check it.

    A refusal writes nothing and raises DomainError({"allocations": {index: errors}}) keyed by the item's index in
    `items` (updates are checked first, in order, and the first refused one is reported alone; the new ones are
    checked together), or ConflictError when another request allocated the strategy meanwhile. Returns the
    allocations in the order of `items`."""
    existing = {a.broker_account_id: a for a in allocations_for_strategy(strategy=strategy)}
    wanted = {data.account.pk for data in items}
    for account_id, allocation in existing.items():
        if account_id not in wanted:
            allocation_delete(allocation=allocation)
    saved: dict[int, Allocation] = {}
    creating = []
    for index, data in enumerate(items):
        allocation = existing.get(data.account.pk)
        if allocation is None:
            creating.append(index)
            continue
        try:
            saved[index] = allocation_update(allocation=allocation, data=data)
        except ConflictError:
            raise
        except DomainError as exc:
            raise DomainError({"allocations": {str(index): exc.as_body()}}) from None
    if creating:
        try:
            created = allocations_create(strategy=strategy, items=[items[index] for index in creating])
        except ConflictError:
            raise
        except DomainError as exc:
            body = exc.as_body()
            if not isinstance(body.get("allocations"), dict):
                raise
            raise DomainError(
                {"allocations": {str(creating[int(i)]): errors for i, errors in body["allocations"].items()}}
            ) from None
        saved.update(zip(creating, created, strict=True))
    return [saved[index] for index in range(len(items))]


def allocations_check_after_leg_change(*, strategy: Strategy) -> None:
    """Refuse a leg change that would leave an allocation trading 0 lots or outside position sizing."""
    legs = list(strategy.legs.order_by("leg_no"))
    for allocation in allocations_for_strategy(strategy=strategy):
        overrides = {o.leg.leg_no: {"lots": o.lots, "enabled": o.enabled} for o in allocation.leg_overrides.all()}
        data = AllocationInput(
            account=allocation.broker_account,
            allocation_type=allocation.allocation_type,
            strategy_lots_multiplier=allocation.strategy_lots_multiplier,
            leg_overrides=overrides,
        )
        errors = _lots_errors(legs, data)
        if errors:
            message = next(iter(_flatten(errors)))
            raise DomainError(f"This change breaks the allocation of {allocation.broker_account.client_id}: {message}")


def _flatten(errors):
    if isinstance(errors, dict):
        for value in errors.values():
            yield from _flatten(value)
    elif isinstance(errors, list):
        for value in errors:
            yield from _flatten(value)
    else:
        yield errors
