"""Basket pages: create, edit, the basket's strategies, delete and its 409 refusal."""

from baskets.models import Basket
from strategies.models import Strategy
from tests.factories import BasketFactory, StrategyFactory


def body(response) -> str:
    return response.content.decode()


BASKET_FORM = {
    "basket_name": "Conservative Income",
    "description": "Low-risk monthly income strategies",
    "initial_capital": "500000",
    "deployable_percentage": "80",
}


def test_creating_a_basket_persists_it(page, user):
    response = page.post("/baskets/new/", BASKET_FORM)
    basket = Basket.objects.get(owner=user)
    assert response.status_code == 302 and response["Location"] == f"/baskets/{basket.pk}/"
    assert (basket.basket_name, basket.initial_capital, basket.deployable_percentage) == (
        "Conservative Income",
        500000,
        80,
    )
    assert basket.current_capital == 500000


def test_an_invalid_basket_shows_the_apis_messages_and_keeps_the_typed_values(page, user):
    response = page.post("/baskets/new/", {**BASKET_FORM, "initial_capital": "lots", "deployable_percentage": "120"})
    html = body(response)
    assert response.status_code == 400
    assert "A number is required." in html
    assert "Ensure this value is less than or equal to 100." in html
    assert 'value="lots"' in html and 'value="120"' in html and 'value="Conservative Income"' in html
    assert not Basket.objects.exists()


def test_editing_a_basket(page, user):
    basket = BasketFactory(owner=user)
    response = page.post(f"/baskets/{basket.pk}/edit/", {**BASKET_FORM, "basket_name": "Renamed", "status": "PAUSED"})
    assert response.status_code == 302
    basket.refresh_from_db()
    assert (basket.basket_name, basket.status, basket.version) == ("Renamed", "PAUSED", 2)


def test_the_basket_page_lists_its_strategies(page, user):
    basket = BasketFactory(owner=user)
    StrategyFactory(owner=user, basket=basket, strategy_name="Weekly Iron Condor NIFTY")
    StrategyFactory(owner=user, basket=basket, strategy_name="Old one", status="ARCHIVED")
    html = body(page.get(f"/baskets/{basket.pk}/"))
    assert "Weekly Iron Condor NIFTY" in html and "Old one" not in html
    assert f"/strategies/new/?basket={basket.pk}" in html


def test_deleting_a_basket_with_active_strategies_is_refused_with_the_apis_message(page, user):
    basket = BasketFactory(owner=user, basket_name="Conservative Income")
    StrategyFactory(owner=user, basket=basket)
    response = page.post(f"/baskets/{basket.pk}/delete/")
    assert response.status_code == 409
    assert "Basket &#x27;Conservative Income&#x27; has 1 active strategies; pause or delete them first." in body(
        response
    )
    assert Basket.objects.filter(pk=basket.pk).exists()


def test_deleting_a_basket_keeps_its_paused_strategies_standalone(page, user):
    basket = BasketFactory(owner=user)
    strategy = StrategyFactory(owner=user, basket=basket, status="PAUSED")
    response = page.post(f"/baskets/{basket.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/baskets/"
    assert not Basket.objects.filter(pk=basket.pk).exists()
    assert Strategy.objects.get(pk=strategy.pk).basket is None
