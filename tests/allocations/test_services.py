"""allocations_replace: the grid's save, as one service."""

from decimal import Decimal

import pytest

from allocations.models import Allocation
from allocations.services import AllocationInput, allocations_replace
from config.exceptions import DomainError
from tests.factories import AllocationFactory, BrokerAccountFactory, iron_condor


@pytest.fixture
def condor(user):
    return iron_condor(owner=user)


def _multiplier(account, value, priority=1):
    return AllocationInput(
        account=account,
        allocation_type=Allocation.Type.STRATEGY_LEVEL,
        priority=priority,
        strategy_lots_multiplier=Decimal(value),
    )


def _state(strategy):
    return sorted(
        (a.broker_account.client_id, a.strategy_lots_multiplier, a.priority)
        for a in Allocation.objects.filter(strategy=strategy).select_related("broker_account")
    )


def test_replace_updates_creates_and_deletes_so_the_strategy_has_exactly_the_items(user, condor):
    kept, dropped, new = (BrokerAccountFactory(owner=user, client_id=c) for c in ("KEPT", "DROPPED", "NEW"))
    AllocationFactory(strategy=condor, broker_account=kept, strategy_lots_multiplier=Decimal("1"))
    AllocationFactory(strategy=condor, broker_account=dropped)

    saved = allocations_replace(strategy=condor, items=[_multiplier(new, "1.5", 2), _multiplier(kept, "2", 1)])

    assert [a.broker_account.client_id for a in saved] == ["NEW", "KEPT"]
    assert _state(condor) == [("KEPT", Decimal("2"), 1), ("NEW", Decimal("1.5"), 2)]


def test_a_refused_new_item_writes_nothing_and_is_named_by_its_index(user, condor):
    kept, dropped, new = (BrokerAccountFactory(owner=user, client_id=c) for c in ("KEPT", "DROPPED", "NEW"))
    AllocationFactory(strategy=condor, broker_account=kept, strategy_lots_multiplier=Decimal("1"))
    AllocationFactory(strategy=condor, broker_account=dropped, strategy_lots_multiplier=Decimal("1"))
    before = _state(condor)

    with pytest.raises(DomainError) as refused:
        # 2 base lots × 0.1 is 0 lots on every leg: refused by the lot arithmetic
        allocations_replace(strategy=condor, items=[_multiplier(kept, "2"), _multiplier(new, "0.1")])

    assert set(refused.value.as_body()["allocations"]) == {"1"}
    assert "strategy_lots_multiplier" in refused.value.as_body()["allocations"]["1"]
    assert _state(condor) == before


def test_a_refused_update_writes_nothing_and_is_named_by_its_index(user, condor):
    kept, new = (BrokerAccountFactory(owner=user, client_id=c) for c in ("KEPT", "NEW"))
    AllocationFactory(strategy=condor, broker_account=kept, strategy_lots_multiplier=Decimal("1"))
    before = _state(condor)

    with pytest.raises(DomainError) as refused:
        allocations_replace(strategy=condor, items=[_multiplier(new, "1"), _multiplier(kept, "0.1")])

    assert set(refused.value.as_body()["allocations"]) == {"1"}
    assert _state(condor) == before


def test_replace_with_no_items_deletes_every_allocation(user, condor):
    AllocationFactory(strategy=condor, broker_account=BrokerAccountFactory(owner=user))

    assert allocations_replace(strategy=condor, items=[]) == []
    assert _state(condor) == []
