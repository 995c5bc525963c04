import datetime

from django.utils import timezone

from baskets.models import Basket
from execution.models import Execution
from strategies.models import Strategy


def test_deleting_a_basket_with_active_strategies_is_409_and_keeps_it(api, basket_id, strategy_id):
    response = api.delete(f"/api/v1/options/baskets/{basket_id}/")
    assert response.status_code == 409
    assert "active strategies" in response.json()["detail"]
    assert Basket.objects.filter(pk=basket_id).exists()


def test_deleting_a_basket_keeps_its_paused_strategies_as_standalone(api, basket_id, strategy_id):
    api.patch(f"/api/v1/options/strategies/{strategy_id}/", {"status": "PAUSED"}, format="json")
    assert api.delete(f"/api/v1/options/baskets/{basket_id}/").status_code == 204
    assert not Basket.objects.filter(pk=basket_id).exists()
    assert Strategy.objects.get(pk=strategy_id).basket is None


def test_deleting_a_strategy_that_never_traded_removes_it_and_its_legs(api, condor_id):
    assert api.delete(f"/api/v1/options/strategies/{condor_id}/").status_code == 204
    assert api.get(f"/api/v1/options/strategies/{condor_id}/").status_code == 404


def test_deleting_a_strategy_with_executions_archives_it_and_keeps_its_history(api, condor_id):
    strategy = Strategy.objects.get(pk=condor_id)
    Execution.objects.create(
        strategy=strategy,
        execution_type="ENTRY",
        execution_date=datetime.date(2026, 11, 23),
        execution_time=datetime.time(9, 30),
        due_at=timezone.now(),
        status="COMPLETED",
    )

    response = api.delete(f"/api/v1/options/strategies/{condor_id}/")

    assert response.status_code == 200
    assert response.json()["status"] == "ARCHIVED"
    assert Execution.objects.filter(strategy_id=condor_id).count() == 1
    assert len(response.json()["legs"]) == 4
    listed = [s["strategy_id"] for s in api.get("/api/v1/options/strategies/").json()["results"]]
    assert condor_id not in listed
    archived = api.get("/api/v1/options/strategies/?status=ARCHIVED").json()["results"]
    assert [s["strategy_id"] for s in archived] == [condor_id]


def test_deleting_a_leg_removes_only_that_leg(api, condor_id):
    assert api.delete(f"/api/v1/options/strategies/{condor_id}/legs/3/").status_code == 204
    legs = api.get(f"/api/v1/options/strategies/{condor_id}/legs/").json()
    assert [leg["leg_no"] for leg in legs] == [1, 2, 4]
