"""basket_delete: baskets sends `basket_deleting`; strategies refuses or releases the basket's strategies."""

import pytest

from baskets.models import Basket
from baskets.services import basket_delete
from config.exceptions import ConflictError
from strategies.models import Strategy
from tests.factories import BasketFactory, StrategyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pinned(pinned_clock):
    yield


def test_a_basket_holding_an_active_strategy_is_not_deleted(user):
    basket = BasketFactory(owner=user, basket_name="Income")
    active = StrategyFactory(owner=user, basket=basket, status=Strategy.Status.ACTIVE)
    paused = StrategyFactory(owner=user, basket=basket, status=Strategy.Status.PAUSED)

    with pytest.raises(ConflictError, match="Basket 'Income' has 1 active strategies; pause or delete them first."):
        basket_delete(basket=basket)

    assert Basket.objects.filter(pk=basket.pk).exists()
    assert set(Strategy.objects.filter(basket=basket).values_list("pk", flat=True)) == {active.pk, paused.pk}


def test_deleting_a_basket_keeps_its_paused_and_archived_strategies_standalone(user):
    basket = BasketFactory(owner=user)
    kept = [
        StrategyFactory(owner=user, basket=basket, status=status)
        for status in (Strategy.Status.PAUSED, Strategy.Status.ARCHIVED)
    ]

    basket_delete(basket=basket)

    assert not Basket.objects.filter(pk=basket.pk).exists()
    assert [Strategy.objects.get(pk=s.pk).basket_id for s in kept] == [None, None]
