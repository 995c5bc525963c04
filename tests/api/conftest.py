import pytest

from . import seed001


@pytest.fixture
def basket_id(api):
    return api.post("/api/v1/options/baskets/", seed001.BASKET, format="json").json()["basket_id"]


@pytest.fixture
def strategy_id(api, basket_id):
    response = api.post(f"/api/v1/options/baskets/{basket_id}/strategies/", seed001.STRATEGY, format="json")
    return response.json()["strategy_id"]


@pytest.fixture
def condor_id(api, strategy_id):
    assert api.post(f"/api/v1/options/strategies/{strategy_id}/legs/", seed001.LEGS, format="json").status_code == 201
    return strategy_id
