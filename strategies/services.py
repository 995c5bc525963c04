from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from config.exceptions import ConflictError, DomainError

from .models import Leg, Strategy
from .signals import legs_changed


def strategy_create(*, owner, basket=None, **fields) -> Strategy:
    """A new ACTIVE strategy, in `basket` or standalone. is_intra_day follows product."""
    return Strategy.objects.create(owner=owner, basket=basket, **fields)


def strategy_update(*, strategy: Strategy, **changes) -> Strategy:
    if changes.get("status") == Strategy.Status.ARCHIVED and strategy.status != Strategy.Status.ARCHIVED:
        raise DomainError("Use DELETE to archive a strategy.", field="status")
    for key, value in changes.items():
        setattr(strategy, key, value)
    strategy.version = F("version") + 1
    strategy.save()
    strategy.refresh_from_db()
    return strategy


@transaction.atomic
def basket_strategies_release(*, basket) -> None:
    """Before `basket` is deleted (receiver of `baskets.signals.basket_deleting`): refused (409) while the basket
    holds ACTIVE strategies; its paused or archived strategies become standalone strategies."""
    active = basket.strategies.filter(status=Strategy.Status.ACTIVE).count()
    if active:
        raise ConflictError(
            f"Basket '{basket.basket_name}' has {active} active strategies; pause or delete them first."
        )
    basket.strategies.update(basket=None)


def strategies_status_change(*, strategy_ids, from_status: str, to_status: str, now) -> int:
    """Move those of `strategy_ids` that are in `from_status` to `to_status` (the admin's pause and activate), in
    one conditional UPDATE: archived strategies, and ones already there, are left as they are. Returns how many
    changed."""
    return Strategy.objects.filter(pk__in=strategy_ids, status=from_status).update(status=to_status, updated_at=now)


def strategy_has_history(strategy: Strategy) -> bool:
    return strategy.executions.exists() or strategy.orders.exists()


@transaction.atomic
def strategy_delete(*, strategy: Strategy) -> Strategy | None:
    """Delete a strategy that never traded; archive one that did (its executions, orders, fills and
    positions stay, and it leaves the default lists). Refused (409) while it holds open positions.

    Returns the archived strategy, or None when it was deleted outright."""
    if strategy.positions.exclude(net_quantity=0).exists():
        raise ConflictError("This strategy holds open positions; exit them before deleting it.")
    if strategy_has_history(strategy):
        strategy.status = Strategy.Status.ARCHIVED
        strategy.archived_at = timezone.now()
        strategy.save(update_fields=["status", "archived_at", "updated_at"])
        strategy.allocations.update(status="ARCHIVED")
        return strategy
    strategy.delete()
    return None


@transaction.atomic
def legs_create(*, strategy: Strategy, legs: list[dict]) -> list[Leg]:
    """Create all legs or none. A leg_no repeated in `legs` or already on the strategy is a 400."""
    seen: dict[int, int] = {}
    errors: dict[str, dict] = {}
    existing = set(strategy.legs.values_list("leg_no", flat=True))
    for index, data in enumerate(legs):
        leg_no = data["leg_no"]
        if leg_no in seen:
            errors[str(index)] = {
                "leg_no": [f"leg_no {leg_no} appears twice in this request (also item {seen[leg_no]})."]
            }
        elif leg_no in existing:
            errors[str(index)] = {"leg_no": [f"The strategy already has leg {leg_no}."]}
        seen.setdefault(leg_no, index)
    if errors:
        raise DomainError({"legs": errors})
    try:
        with transaction.atomic():
            created = Leg.objects.bulk_create([Leg(strategy=strategy, **data) for data in legs])
    except IntegrityError:  # a concurrent request added the same leg_no
        raise ConflictError("Another request changed this strategy's legs; reload and try again.") from None
    legs_changed.send(sender=Strategy, strategy=strategy)  # allocations may refuse (DomainError)
    Strategy.objects.filter(pk=strategy.pk).update(version=F("version") + 1)
    return created


@transaction.atomic
def leg_update(*, leg: Leg, **changes) -> Leg:
    """Change a leg; refused when the change would break an allocation (0 lots, outside sizing)."""
    if "leg_no" in changes and changes["leg_no"] != leg.leg_no:
        raise DomainError("leg_no cannot change; delete the leg and add it again.", field="leg_no")
    for key, value in changes.items():
        setattr(leg, key, value)
    leg.save()
    legs_changed.send(sender=Strategy, strategy=leg.strategy)  # allocations may refuse (DomainError)
    Strategy.objects.filter(pk=leg.strategy_id).update(version=F("version") + 1)
    return leg


def leg_delete(*, leg: Leg) -> None:
    if leg.strategy.positions.exclude(net_quantity=0).exists():
        raise ConflictError("The strategy holds open positions; exit them before removing a leg.")
    leg.delete()
    Strategy.objects.filter(pk=leg.strategy_id).update(version=F("version") + 1)


@transaction.atomic
def leg_move(*, strategy: Strategy, leg_no: int, direction: int) -> int:
    """Swap a leg's number with its neighbour's (direction -1: earlier, +1: later). Returns its new number.
    Allocation overrides follow the legs (they point at the leg, not its number); past orders keep theirs."""
    legs = list(Leg.objects.select_for_update().filter(strategy=strategy).order_by("leg_no"))
    numbers = [leg.leg_no for leg in legs]
    if leg_no not in numbers:
        raise DomainError(f"The strategy has no leg {leg_no}.", field="leg_no")
    index = numbers.index(leg_no)
    other = index + direction
    if direction not in (-1, 1) or not 0 <= other < len(legs):
        return leg_no
    moving, neighbour = legs[index], legs[other]
    parked = max(numbers) + 1  # (strategy, leg_no) is unique: park one leg while the other takes its number
    Leg.objects.filter(pk=moving.pk).update(leg_no=parked)
    Leg.objects.filter(pk=neighbour.pk).update(leg_no=moving.leg_no)
    Leg.objects.filter(pk=moving.pk).update(leg_no=neighbour.leg_no)
    Strategy.objects.filter(pk=strategy.pk).update(version=F("version") + 1)
    return neighbour.leg_no
