import pytest

from execution.models import Execution, Order

from .conftest import make_chain

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def trader_api(trader):
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(trader).access_token}")
    return client


def manual(api, strategy, kind="entry", force=False):
    body = {"strategy_id": str(strategy.pk), "execution_type": kind, "force": force}
    return api.post("/api/v1/options/executions/manual/", body, format="json")


def test_manual_entry_runs_through_the_engine_and_shows_in_history_orders_and_positions(
    frozen, condor, trader_api, eager_celery
):
    make_chain()
    response = manual(trader_api, condor)
    assert response.status_code == 202, response.json()
    execution_id = response.json()["execution_id"]
    detail = trader_api.get(f"/api/v1/options/executions/{execution_id}/").json()
    assert detail["status"] == "COMPLETED"
    assert detail["trigger"] == "MANUAL"
    brokers = {b["client_id"]: b for b in detail["broker_executions"]}
    assert [leg["final_lots"] for leg in brokers["ZERODHA123"]["leg_executions"]] == [3, 3, 1, 1]
    assert trader_api.get("/api/v1/options/executions/history/").json()["count"] == 1
    orders = trader_api.get(f"/api/v1/options/orders/?execution_id={execution_id}").json()
    assert orders["count"] == 8 and {o["status"] for o in orders["results"]} == {"FILLED"}
    positions = trader_api.get(f"/api/v1/options/positions/?strategy_id={condor.pk}&client_id=ZERODHA123").json()
    assert positions["count"] == 4
    assert {p["net_quantity"] for p in positions["results"]} == {195, -195, 65, -65}
    assert all(p["unrealized_pnl"] is not None for p in positions["results"])


def test_a_second_manual_entry_the_same_day_is_409_unless_forced(frozen, condor, trader_api, eager_celery):
    make_chain()
    assert manual(trader_api, condor).status_code == 202
    second = manual(trader_api, condor)
    assert second.status_code == 409
    assert "force" in second.json()["detail"]
    assert manual(trader_api, condor, force=True).status_code == 202
    assert Execution.objects.filter(trigger="MANUAL").count() == 2


def test_manual_exit_flattens_the_book(frozen, condor, trader_api, eager_celery):
    make_chain()
    manual(trader_api, condor)
    response = manual(trader_api, condor, "exit")
    assert response.status_code == 202
    positions = trader_api.get(f"/api/v1/options/positions/?strategy_id={condor.pk}").json()["results"]
    assert {p["net_quantity"] for p in positions} == {0}
    assert all(p["realized_pnl"] != 0 for p in positions)


def test_manual_run_of_another_users_strategy_is_400_and_runs_nothing(frozen, condor, other_api):
    response = manual(other_api, condor)
    assert response.status_code == 400
    assert "strategy_id" in response.json()
    assert not Execution.objects.exists()


def test_another_users_execution_is_404_and_lists_are_empty(frozen, condor, trader_api, other_api, eager_celery):
    make_chain()
    execution_id = manual(trader_api, condor).json()["execution_id"]
    assert other_api.get(f"/api/v1/options/executions/{execution_id}/").status_code == 404
    for url in ("history/", "schedule/"):
        body = other_api.get(f"/api/v1/options/executions/{url}").json()
        assert body.get("count", 0) == 0 and body.get("executions", []) == []
    assert other_api.get("/api/v1/options/orders/").json()["count"] == 0
    assert other_api.get("/api/v1/options/positions/").json()["count"] == 0


@pytest.mark.parametrize(
    "url, field",
    [
        ("/api/v1/options/executions/history/?strategy_id=nope", "strategy_id"),
        ("/api/v1/options/executions/history/?from_date=2026-13-01", "from_date"),
        ("/api/v1/options/executions/history/?from_date=2026-11-02&to_date=2026-11-01", "to_date"),
        ("/api/v1/options/orders/?execution_id=123", "execution_id"),
        ("/api/v1/options/positions/?strategy_id=xyz", "strategy_id"),
    ],
)
def test_bad_filters_are_400_naming_them(trader_api, url, field):
    response = trader_api.get(url)
    assert response.status_code == 400
    assert field in response.json()


def test_order_and_position_lists_run_constant_queries(
    frozen, condor, trader_api, eager_celery, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_chain()
    manual(trader_api, condor)
    with CaptureQueriesContext(connection) as first:
        trader_api.get("/api/v1/options/orders/")
        trader_api.get("/api/v1/options/positions/")
        trader_api.get("/api/v1/options/executions/history/")
    baseline = len(first.captured_queries)
    manual(trader_api, condor, "exit")
    manual(trader_api, condor, force=True)
    assert Order.objects.count() == 24
    with django_assert_max_num_queries(baseline):
        trader_api.get("/api/v1/options/orders/")
        trader_api.get("/api/v1/options/positions/")
        trader_api.get("/api/v1/options/executions/history/")
