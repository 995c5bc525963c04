import copy

import pytest

from allocations.models import Allocation, LegOverride
from tests.api import seed001


def url(strategy_id, tail=""):
    return f"/api/v1/options/strategies/{strategy_id}/allocations/{tail}"


@pytest.fixture
def allocated(api, condor_id, seed_accounts, nifty_master):
    response = api.post(url(condor_id, "advanced/"), seed001.ALLOCATIONS, format="json")
    assert response.status_code == 201, response.json()
    return condor_id


def test_seed_001_advanced_allocation_is_accepted_verbatim_and_totals_8_and_10(api, allocated):
    summary = api.get(url(allocated, "summary/")).json()
    by_account = {a["client_id"]: a for a in summary["accounts"]}
    assert by_account["ZERODHA123"]["total_lots_per_execution"] == 8
    assert by_account["ANGELONE456"]["total_lots_per_execution"] == 10
    assert summary["totals"]["total_lots"] == 18
    assert by_account["ZERODHA123"]["lots_per_leg"] == {"1": 3, "2": 3, "3": 1, "4": 1}
    assert summary["lots_per_leg"] == {"1": 4, "2": 4, "3": 5, "4": 5}


def test_every_allocation_carries_calculated_totals_and_per_leg_quantity(api, allocated):
    zerodha = api.get(url(allocated, "ZERODHA123/")).json()
    assert zerodha["calculated_totals"]["total_lots_per_execution"] == 8
    assert zerodha["calculated_totals"]["legs_enabled"] == 4
    assert [(leg["leg_no"], leg["final_lots"], leg["quantity"]) for leg in zerodha["legs"]] == [
        (1, 3, 195),
        (2, 3, 195),
        (3, 1, 65),
        (4, 1, 65),
    ]
    assert zerodha["allocation_config"]["leg_overrides"]["1"]["notes"] == "Higher sell lots on Zerodha"


def test_estimated_margin_follows_the_documented_formula(api, allocated):
    zerodha = api.get(url(allocated, "ZERODHA123/")).json()["calculated_totals"]
    # hedged shorts 195 + 65 at 3% of 26000, longs 260 units at 0.5% of 26000
    assert zerodha["estimated_margin_required"] == 26000 * 260 * 0.03 + 26000 * 260 * 0.005


def test_seed_002_multipliers_through_the_api_give_11_16_and_27(api, user, condor_id, nifty_master):
    for leg_no, lots in zip((1, 2, 3, 4), (2, 3, 1, 2), strict=True):
        api.patch(f"/api/v1/options/strategies/{condor_id}/legs/{leg_no}/", {"lots": lots}, format="json")
    from tests.factories import BrokerAccountFactory

    for client_id, multiplier in (("ACC15", 1.5), ("ACC20", 2.0)):
        BrokerAccountFactory(owner=user, client_id=client_id)
        body = {"client_id": client_id, "priority": 1, "strategy_lots_multiplier": multiplier}
        assert api.post(url(condor_id), body, format="json").status_code == 201
    summary = api.get(url(condor_id, "summary/")).json()
    by_account = {a["client_id"]: a for a in summary["accounts"]}
    assert by_account["ACC15"]["lots_per_leg"] == {"1": 3, "2": 4, "3": 1, "4": 3}
    assert by_account["ACC20"]["lots_per_leg"] == {"1": 4, "2": 6, "3": 2, "4": 4}
    assert summary["totals"]["total_lots"] == 27


def test_advanced_post_is_atomic_one_bad_allocation_saves_nothing(api, condor_id, seed_accounts):
    payload = copy.deepcopy(seed001.ALLOCATIONS)
    payload["allocations"][1]["allocation_config"]["leg_overrides"]["3"]["lots"] = 0
    response = api.post(url(condor_id, "advanced/"), payload, format="json")
    assert response.status_code == 400
    assert response.json()["allocations"]["1"]["allocation_config"]["leg_overrides"]["3"]["lots"]
    assert not Allocation.objects.exists() and not LegOverride.objects.exists()


def test_client_id_that_is_not_the_users_account_is_400(api, other_user, condor_id):
    from tests.factories import BrokerAccountFactory

    BrokerAccountFactory(owner=other_user, client_id="THEIRS1")
    response = api.post(url(condor_id), {"client_id": "THEIRS1", "strategy_lots_multiplier": 1}, format="json")
    assert response.status_code == 400
    assert "not one of your broker accounts" in response.json()["client_id"][0]


def test_override_for_a_leg_the_strategy_lacks_is_400(api, condor_id, seed_accounts):
    payload = copy.deepcopy(seed001.ALLOCATIONS)
    payload["allocations"] = payload["allocations"][:1]
    payload["allocations"][0]["allocation_config"]["leg_overrides"]["7"] = {"lots": 1, "enabled": True}
    response = api.post(url(condor_id, "advanced/"), payload, format="json")
    assert response.status_code == 400
    assert "leg 7" in response.json()["allocations"]["0"]["leg_overrides"]["7"]["leg_no"][0]


@pytest.mark.parametrize("multiplier", [0, -1.5])
def test_multiplier_not_above_zero_is_400(api, condor_id, seed_accounts, multiplier):
    body = {"client_id": "ZERODHA123", "strategy_lots_multiplier": multiplier}
    response = api.post(url(condor_id), body, format="json")
    assert response.status_code == 400
    assert "strategy_lots_multiplier" in response.json()


def test_leg_that_ends_at_zero_lots_is_400_naming_account_and_leg(api, condor_id, seed_accounts):
    api.patch(f"/api/v1/options/strategies/{condor_id}/legs/3/", {"lots": 1}, format="json")
    body = {"client_id": "ZERODHA123", "strategy_lots_multiplier": 0.5}
    response = api.post(url(condor_id), body, format="json")
    assert response.status_code == 400
    message = response.json()["strategy_lots_multiplier"][0]
    assert "leg 3" in message and "ZERODHA123" in message


def test_both_overrides_and_multiplier_for_one_allocation_is_400(api, condor_id, seed_accounts):
    payload = copy.deepcopy(seed001.ALLOCATIONS)
    payload["allocations"][0]["strategy_lots_multiplier"] = 2
    response = api.post(url(condor_id, "advanced/"), payload, format="json")
    assert response.status_code == 400
    assert "strategy_lots_multiplier" in response.json()["allocations"]["0"]


def test_the_same_account_twice_is_400(api, condor_id, seed_accounts):
    payload = copy.deepcopy(seed001.ALLOCATIONS)
    payload["allocations"][1]["client_id"] = "ZERODHA123"
    response = api.post(url(condor_id, "advanced/"), payload, format="json")
    assert response.status_code == 400
    assert "more than once" in response.json()["allocations"]["1"]["client_id"][0]


def test_allocating_an_already_allocated_account_is_400(api, allocated):
    body = {"client_id": "ZERODHA123", "strategy_lots_multiplier": 1}
    response = api.post(url(allocated), body, format="json")
    assert response.status_code == 400
    assert "already allocated" in response.json()["client_id"][0]


@pytest.mark.parametrize(
    "limits, field",
    [
        ({"max_daily_loss": -1}, "max_daily_loss"),
        ({"max_margin_utilization": 101}, "max_margin_utilization"),
        ({"max_margin_utilization": -5}, "max_margin_utilization"),
        ({"max_daily_trades": -2}, "max_daily_trades"),
        ({"max_daily_tardes": 2}, "max_daily_tardes"),
    ],
)
def test_bad_risk_limits_are_400_naming_the_limit(api, condor_id, seed_accounts, limits, field):
    body = {"client_id": "ZERODHA123", "strategy_lots_multiplier": 1, "risk_limits": limits}
    response = api.post(url(condor_id), body, format="json")
    assert response.status_code == 400
    assert field in response.json()["risk_limits"]


def test_override_lots_below_one_is_400_in_the_documented_shape(api, condor_id, seed_accounts):
    body = {
        "client_id": "ZERODHA123",
        "allocation_config": {"type": "LEG_LEVEL", "leg_overrides": {"3": {"lots": 0, "enabled": True}}},
    }
    response = api.post(url(condor_id), body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "allocation_config": {"leg_overrides": {"3": {"lots": ["Ensure this value is greater than or equal to 1."]}}}
    }


def test_patch_switches_an_allocation_to_a_multiplier(api, allocated):
    response = api.patch(url(allocated, "ZERODHA123/"), {"strategy_lots_multiplier": 2}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["calculated_totals"]["total_lots_per_execution"] == 16
    assert not LegOverride.objects.filter(allocation__broker_account__client_id="ZERODHA123").exists()


def test_changing_a_legs_base_lots_updates_multiplier_allocations(api, condor_id, seed_accounts, nifty_master):
    api.post(url(condor_id), {"client_id": "ZERODHA123", "strategy_lots_multiplier": 1.5}, format="json")
    api.patch(f"/api/v1/options/strategies/{condor_id}/legs/1/", {"lots": 4}, format="json")
    totals = api.get(url(condor_id, "ZERODHA123/")).json()["calculated_totals"]
    assert totals["total_lots_per_execution"] == 6 + 3 + 3 + 3


def test_disabling_a_leg_drops_it_from_every_allocation(api, allocated):
    api.patch(f"/api/v1/options/strategies/{allocated}/legs/4/", {"enabled": False}, format="json")
    summary = api.get(url(allocated, "summary/")).json()
    assert summary["totals"]["total_lots"] == 18 - 1 - 4
    assert all(a["legs_enabled"] == 3 for a in summary["accounts"])


def test_leg_change_that_would_leave_an_account_at_zero_lots_is_refused(api, condor_id, seed_accounts):
    api.post(url(condor_id), {"client_id": "ZERODHA123", "strategy_lots_multiplier": 0.5}, format="json")
    response = api.patch(f"/api/v1/options/strategies/{condor_id}/legs/2/", {"lots": 1}, format="json")
    assert response.status_code == 400
    assert "ZERODHA123" in response.json()["detail"] and "leg 2" in response.json()["detail"]


def test_delete_removes_the_allocation(api, allocated):
    assert api.delete(url(allocated, "ANGELONE456/")).status_code == 204
    assert api.get(url(allocated, "ANGELONE456/")).status_code == 404
    assert api.get(url(allocated, "summary/")).json()["totals"]["total_lots"] == 8


def test_another_users_strategy_allocations_are_404(other_api, allocated):
    for tail in ("", "summary/", "ZERODHA123/"):
        assert other_api.get(url(allocated, tail)).status_code == 404
    assert other_api.post(url(allocated, "advanced/"), seed001.ALLOCATIONS, format="json").status_code == 404


def test_hedge_warning_shows_in_allocation_and_summary(api, condor_id, seed_accounts, nifty_master):
    body = {
        "client_id": "ZERODHA123",
        "allocation_config": {"type": "LEG_LEVEL", "leg_overrides": {"1": {"lots": 5, "enabled": True}}},
    }
    response = api.post(url(condor_id), body, format="json")
    assert response.status_code == 201
    assert "PUT side sells 5 lots but buys only 2" in response.json()["warnings"][0]
    assert api.get(url(condor_id, "summary/")).json()["warnings"]


def test_without_an_instrument_master_quantity_is_unknown_and_says_why(api, condor_id, seed_accounts):
    response = api.post(url(condor_id), {"client_id": "ZERODHA123", "strategy_lots_multiplier": 1}, format="json")
    body = response.json()
    assert body["calculated_totals"]["total_quantity"] is None
    assert any("load_instruments" in w for w in body["warnings"])


def test_allocation_list_runs_constant_queries(api, user, allocated, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import BrokerAccountFactory

    with CaptureQueriesContext(connection) as two:
        assert api.get(url(allocated)).json()["count"] == 2
    queries_for_two = len(two.captured_queries)  # read now: each request resets the connection's query log
    assert queries_for_two > 0
    for n in range(6):
        BrokerAccountFactory(owner=user, client_id=f"MORE{n}")
        api.post(url(allocated), {"client_id": f"MORE{n}", "strategy_lots_multiplier": 1}, format="json")
    with django_assert_max_num_queries(queries_for_two):
        assert api.get(url(allocated)).json()["count"] == 8


@pytest.mark.parametrize("change", [{"priority": 5}, {"status": "PAUSED"}])
def test_patch_of_one_field_keeps_the_rest(api, condor_id, seed_accounts, nifty_master, change):
    api.post(url(condor_id), {"client_id": "ZERODHA123", "strategy_lots_multiplier": 1.5}, format="json")
    response = api.patch(url(condor_id, "ZERODHA123/"), change, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert {key: body[key] for key in change} == change
    assert body["strategy_lots_multiplier"] == 1.5


def test_patch_of_one_field_keeps_leg_level_overrides(api, allocated):
    response = api.patch(url(allocated, "ZERODHA123/"), {"priority": 7}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["calculated_totals"]["total_lots_per_execution"] == 8
