"""Bad input is a 400 naming the field; nothing is saved; no input produces a 500."""

import copy

import pytest

from strategies.models import Leg, Strategy

from . import seed001


def strategy(**changes):
    body = dict(seed001.STRATEGY)
    body.update(changes)
    return {key: value for key, value in body.items() if value is not ...}


def post_strategy(api, basket_id, **changes):
    return api.post(f"/api/v1/options/baskets/{basket_id}/strategies/", strategy(**changes), format="json")


def test_unknown_day_name_is_400_on_entry_days(api, basket_id):
    response = post_strategy(api, basket_id, entry_days=["MONDAY", "FUNDAY"])
    assert response.status_code == 400
    assert "entry_days" in response.json()
    assert not Strategy.objects.exists()


def test_weekend_day_is_400(api, basket_id):
    response = post_strategy(api, basket_id, exit_days=["SATURDAY"])
    assert response.status_code == 400
    assert "exit_days" in response.json()


def test_intraday_exit_before_entry_is_400_on_exit_time(api, basket_id):
    response = post_strategy(
        api, basket_id, product="MIS", is_intra_day=True, entry_time="14:00", exit_time="10:00", exit_days=["MONDAY"]
    )
    assert response.status_code == 400
    assert "must exit after it enters" in response.json()["exit_time"][0]


def test_positional_strategy_may_exit_earlier_in_the_day_than_it_entered(api, basket_id):
    response = post_strategy(api, basket_id, entry_time="14:00", exit_time="10:00")
    assert response.status_code == 201


@pytest.mark.parametrize("field, value", [("entry_time", "08:59"), ("exit_time", "15:45"), ("entry_time", "09:14")])
def test_time_outside_trading_session_is_400_naming_the_field(api, basket_id, field, value):
    response = post_strategy(api, basket_id, **{field: value})
    assert response.status_code == 400
    assert "outside the trading session" in response.json()[field][0]


@pytest.mark.parametrize("value", ["9:30am", "25:00", 930, "09:30:00"])
def test_malformed_time_is_400(api, basket_id, value):
    assert post_strategy(api, basket_id, entry_time=value).status_code == 400


def test_is_intra_day_contradicting_product_is_400(api, basket_id):
    response = post_strategy(api, basket_id, product="NRML", is_intra_day=True)
    assert response.status_code == 400
    assert "is_intra_day" in response.json()


def test_mis_product_derives_is_intra_day_and_exit_days(api, basket_id):
    response = post_strategy(api, basket_id, product="MIS", is_intra_day=..., exit_days=...)
    assert response.status_code == 201, response.json()
    assert response.json()["is_intra_day"] is True
    assert response.json()["exit_days"] == ["MONDAY"]


@pytest.mark.parametrize(
    "field, value",
    [("product", "CNC"), ("underlying", "DOWJONES"), ("category", "YOLO"), ("status", "RUNNING")],
)
def test_unknown_enum_value_is_400_naming_the_field(api, basket_id, field, value):
    response = post_strategy(api, basket_id, **{field: value})
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(
    "field, value",
    [("strategy_name", 123), ("entry_days", "MONDAY"), ("is_intra_day", "false"), ("entry_days", [1])],
)
def test_wrong_json_type_is_400_naming_the_field(api, basket_id, field, value):
    response = post_strategy(api, basket_id, **{field: value})
    assert response.status_code == 400
    assert field in response.json()


def test_misspelt_field_is_400_naming_it(api, basket_id):
    response = post_strategy(api, basket_id, entry_tme="09:30")
    assert response.status_code == 400
    assert response.json() == {"entry_tme": ["Unknown field."]}


def test_body_that_is_not_an_object_is_400(api, basket_id):
    response = api.post(f"/api/v1/options/baskets/{basket_id}/strategies/", [1, 2], format="json")
    assert response.status_code == 400


def test_malformed_json_is_400(api, basket_id):
    response = api.generic(
        "POST", f"/api/v1/options/baskets/{basket_id}/strategies/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400


def test_malformed_basket_id_filter_is_400_naming_it(api):
    response = api.get("/api/v1/options/strategies/?basket_id=not-a-uuid")
    assert response.status_code == 400
    assert "basket_id" in response.json()


def test_malformed_basket_id_in_body_is_400(api):
    response = api.post("/api/v1/options/strategies/", strategy(basket_id="12345"), format="json")
    assert response.status_code == 400
    assert "basket_id" in response.json()


def test_malformed_uuid_in_path_is_404(api):
    assert api.get("/api/v1/options/strategies/not-a-uuid/").status_code == 404


def post_legs(api, strategy_id, legs):
    return api.post(f"/api/v1/options/strategies/{strategy_id}/legs/", {"legs": legs}, format="json")


def seed_leg(**changes):
    leg = copy.deepcopy(seed001.LEGS["legs"][0])
    leg.update(changes)
    return leg


def test_duplicate_leg_no_in_bulk_post_rejects_the_whole_post(api, strategy_id):
    legs = copy.deepcopy(seed001.LEGS["legs"])
    legs[3]["leg_no"] = 1
    response = post_legs(api, strategy_id, legs)
    assert response.status_code == 400
    assert "appears twice" in response.json()["legs"]["3"]["leg_no"][0]
    assert not Leg.objects.exists()


def test_leg_no_already_on_the_strategy_is_400(api, condor_id):
    response = post_legs(api, condor_id, [seed_leg(leg_no=2)])
    assert response.status_code == 400
    assert "already has leg 2" in response.json()["legs"]["0"]["leg_no"][0]


def test_one_invalid_leg_rejects_the_whole_bulk_post(api, strategy_id):
    legs = copy.deepcopy(seed001.LEGS["legs"])
    legs[2]["lots"] = 0
    response = post_legs(api, strategy_id, legs)
    assert response.status_code == 400
    assert "lots" in response.json()["legs"]["2"]
    assert not Leg.objects.exists()


@pytest.mark.parametrize("lots", [0, -1, 2.5, "2", True])
def test_leg_lots_must_be_a_whole_number_of_at_least_one(api, strategy_id, lots):
    response = post_legs(api, strategy_id, [seed_leg(lots=lots)])
    assert response.status_code == 400
    assert "lots" in response.json()["legs"]["0"]


def test_leg_underlying_differing_from_the_strategy_is_400(api, strategy_id):
    response = post_legs(api, strategy_id, [seed_leg(underlying="BANKNIFTY")])
    assert response.status_code == 400
    assert "differs from the strategy's NIFTY" in response.json()["legs"]["0"]["underlying"][0]


@pytest.mark.parametrize("delta", [0, 1, 1.5, -0.2])
def test_delta_outside_zero_and_one_is_400(api, strategy_id, delta):
    leg = seed_leg(strike_selection_config={"method": "DELTA", "delta_value": delta})
    response = post_legs(api, strategy_id, [leg])
    assert response.status_code == 400
    assert "delta_value" in response.json()["legs"]["0"]["strike_selection_config"]


def test_strike_selection_method_contradicting_entry_by_is_400(api, strategy_id):
    leg = seed_leg(entry_by="DELTA", strike_selection_config={"method": "ATM_OFFSET", "atm_offset": 1})
    response = post_legs(api, strategy_id, [leg])
    assert response.status_code == 400
    assert "method" in response.json()["legs"]["0"]["strike_selection_config"]


def test_strike_selection_missing_its_parameter_is_400(api, strategy_id):
    leg = seed_leg(strike_selection_config={"method": "STRIKE_DISTANCE"})
    response = post_legs(api, strategy_id, [leg])
    assert response.status_code == 400
    assert "strike_distance" in response.json()["legs"]["0"]["strike_selection_config"]


@pytest.mark.parametrize(
    "field, value", [("leg_type", "STRADDLE"), ("transaction_type", "HOLD"), ("expiry_type", "DAILY")]
)
def test_unknown_leg_enum_is_400(api, strategy_id, field, value):
    response = post_legs(api, strategy_id, [seed_leg(**{field: value})])
    assert response.status_code == 400
    assert field in response.json()["legs"]["0"]


def test_base_lots_outside_position_sizing_is_400_on_lots(api, strategy_id):
    leg = seed_leg(lots=5, position_sizing={"min_lots": 1, "max_lots": 4, "lot_increment": 1})
    response = post_legs(api, strategy_id, [leg])
    assert response.status_code == 400
    assert "max_lots" in response.json()["legs"]["0"]["lots"][0]


def test_empty_legs_list_is_400(api, strategy_id):
    assert post_legs(api, strategy_id, []).status_code == 400


def test_changing_a_legs_number_through_put_is_400(api, condor_id):
    leg = seed_leg(leg_no=9)
    response = api.put(f"/api/v1/options/strategies/{condor_id}/legs/1/", leg, format="json")
    assert response.status_code == 400
    assert "leg_no" in response.json()


def test_patch_a_leg_changes_only_what_is_sent(api, condor_id):
    response = api.patch(f"/api/v1/options/strategies/{condor_id}/legs/2/", {"lots": 3}, format="json")
    assert response.status_code == 200, response.json()
    leg = Leg.objects.get(strategy_id=condor_id, leg_no=2)
    assert (leg.lots, leg.entry_by, leg.transaction_type) == (3, "STRIKE_DISTANCE", "BUY")


@pytest.mark.parametrize(
    "field, value",
    [
        ("deployable_percentage", 101),
        ("deployable_percentage", -1),
        ("initial_capital", -5),
        ("initial_capital", "abc"),
    ],
)
def test_basket_bounds_are_400_naming_the_field(api, field, value):
    body = dict(seed001.BASKET, **{field: value})
    response = api.post("/api/v1/options/baskets/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_archived_status_cannot_be_set_directly(api, strategy_id):
    response = api.patch(f"/api/v1/options/strategies/{strategy_id}/", {"status": "ARCHIVED"}, format="json")
    assert response.status_code == 400
    assert "status" in response.json()


def test_pausing_a_strategy_bumps_its_version(api, strategy_id):
    response = api.patch(f"/api/v1/options/strategies/{strategy_id}/", {"status": "PAUSED"}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["version"]) == ("PAUSED", 2)


def test_patch_changing_product_to_mis_revalidates_the_schedule(api, strategy_id):
    response = api.patch(f"/api/v1/options/strategies/{strategy_id}/", {"product": "MIS"}, format="json")
    assert response.status_code == 400
    assert "exit_days" in response.json()
