import copy

from strategies.models import Leg

from . import seed001


def test_seed_001_journey_creates_basket_strategy_and_four_legs(api):
    basket = api.post("/api/v1/options/baskets/", seed001.BASKET, format="json")
    assert basket.status_code == 201, basket.json()
    basket_id = basket.json()["basket_id"]
    assert basket.json()["deployable_capital"] == 400000

    strategy = api.post(f"/api/v1/options/baskets/{basket_id}/strategies/", seed001.STRATEGY, format="json")
    assert strategy.status_code == 201, strategy.json()
    body = strategy.json()
    assert body["basket_id"] == basket_id
    assert body["is_intra_day"] is False
    assert (body["entry_time"], body["exit_time"]) == ("09:30", "15:20")

    legs = api.post(f"/api/v1/options/strategies/{body['strategy_id']}/legs/", seed001.LEGS, format="json")
    assert legs.status_code == 201, legs.json()
    assert [leg["leg_no"] for leg in legs.json()["legs"]] == [1, 2, 3, 4]
    assert Leg.objects.filter(strategy_id=body["strategy_id"]).count() == 4

    detail = api.get(f"/api/v1/options/strategies/{body['strategy_id']}/").json()
    assert [(leg["transaction_type"], leg["leg_type"], leg["lots"]) for leg in detail["legs"]] == [
        ("SELL", "PUT", 2),
        ("BUY", "PUT", 2),
        ("SELL", "CALL", 2),
        ("BUY", "CALL", 2),
    ]
    basket_detail = api.get(f"/api/v1/options/baskets/{basket_id}/").json()
    assert [s["strategy_id"] for s in basket_detail["strategies"]] == [body["strategy_id"]]


def test_legs_without_strike_selection_config_get_documented_defaults_echoed_as_warnings(api):
    basket_id = api.post("/api/v1/options/baskets/", seed001.BASKET, format="json").json()["basket_id"]
    strategy_id = api.post(f"/api/v1/options/baskets/{basket_id}/strategies/", seed001.STRATEGY, format="json").json()[
        "strategy_id"
    ]

    response = api.post(f"/api/v1/options/strategies/{strategy_id}/legs/", seed001.LEGS, format="json")

    body = response.json()
    assert len(body["warnings"]) == 4
    assert "leg 1" in body["warnings"][0] and "DELTA" in body["warnings"][0]
    configs = {leg["leg_no"]: leg["strike_selection_config"] for leg in body["legs"]}
    assert configs[1] == {"method": "DELTA", "delta_value": 0.2}
    assert configs[2] == {"method": "STRIKE_DISTANCE", "strike_distance": 500.0}


def test_seed_legs_with_explicit_strike_selection_config_have_no_warnings(api):
    basket_id = api.post("/api/v1/options/baskets/", seed001.BASKET, format="json").json()["basket_id"]
    strategy_id = api.post(f"/api/v1/options/baskets/{basket_id}/strategies/", seed001.STRATEGY, format="json").json()[
        "strategy_id"
    ]
    payload = copy.deepcopy(seed001.LEGS)
    payload["legs"][0]["strike_selection_config"] = {"method": "DELTA", "delta_value": 0.16}
    payload["legs"] = payload["legs"][:1]

    response = api.post(f"/api/v1/options/strategies/{strategy_id}/legs/", payload, format="json")

    assert response.status_code == 201
    assert response.json()["warnings"] == []
    assert response.json()["legs"][0]["strike_selection_config"] == {"method": "DELTA", "delta_value": 0.16}
