"""Issue #16, "every bad input is a 4xx, never a 500": each test here failed (500 or accepted) before the fix."""

import pytest

from baskets.models import Basket
from brokers.models import BrokerAccount
from execution.models import Alert, Execution
from strategies.models import Strategy
from tests.api import seed001
from tests.factories import BrokerAccountFactory

DEEP = "[" * 100_000


def test_strategy_created_archived_is_400_naming_status(api, basket_id):
    body = {**seed001.STRATEGY, "status": "ARCHIVED"}
    response = api.post(f"/api/v1/options/baskets/{basket_id}/strategies/", body, format="json")
    assert response.status_code == 400
    assert "status" in response.json()
    assert not Strategy.objects.exists()


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_strategy_is_archived_by_delete_only_not_by_writing_its_status(api, basket_id, method):
    """A status write would archive the strategy and leave its allocations active; DELETE archives both."""
    created = api.post(f"/api/v1/options/baskets/{basket_id}/strategies/", seed001.STRATEGY, format="json").json()
    body = {**seed001.STRATEGY, "status": "ARCHIVED"} if method == "put" else {"status": "ARCHIVED"}
    response = getattr(api, method)(f"/api/v1/options/strategies/{created['strategy_id']}/", body, format="json")
    assert response.status_code == 400 and "DELETE archives it" in response.json()["status"][0]
    assert Strategy.objects.get().status == "ACTIVE"


def test_a_basket_name_of_only_spaces_is_400_and_the_schema_says_so(api):
    response = api.post("/api/v1/options/baskets/", {"basket_name": "   ", "initial_capital": 1000}, format="json")
    assert response.status_code == 400 and "basket_name" in response.json()
    schema = api.get("/api/v1/schema/?format=json").json()
    assert schema["components"]["schemas"]["BasketRequest"]["properties"]["basket_name"]["pattern"] == r"\S"


@pytest.mark.parametrize("status", ["ACTIVE", "PAUSED"])
def test_strategy_may_be_created_active_or_paused(api, basket_id, status):
    body = {**seed001.STRATEGY, "status": status}
    response = api.post(f"/api/v1/options/baskets/{basket_id}/strategies/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == status


@pytest.mark.parametrize("body", ["[1]", '"x"', "3", "null"])
def test_kill_switch_with_a_body_that_is_not_an_object_is_400_and_blocks_nothing(api, user, body):
    BrokerAccountFactory(owner=user, client_id="ZERODHA123")
    response = api.generic("POST", "/api/v1/kill-switch/", body, content_type="application/json")
    assert response.status_code == 400
    assert not BrokerAccount.objects.filter(entries_blocked=True).exists()


def test_kill_switch_with_an_empty_body_still_engages(api, user):
    BrokerAccountFactory(owner=user, client_id="ZERODHA123")
    response = api.generic("POST", "/api/v1/kill-switch/", "", content_type="application/json")
    assert response.status_code == 200, response.content
    assert BrokerAccount.objects.get().entries_blocked


@pytest.mark.parametrize("key", ["²", "١", "١٢", "+1", " 1", "1.0"])
def test_leg_override_key_that_is_not_ascii_digits_is_400(api, condor_id, user, key):
    BrokerAccountFactory(owner=user, client_id="ZERODHA123")
    body = {
        "client_id": "ZERODHA123",
        "allocation_config": {"type": "LEG_LEVEL", "leg_overrides": {key: {"lots": 1, "enabled": True}}},
    }
    response = api.post(f"/api/v1/options/strategies/{condor_id}/allocations/", body, format="json")
    assert response.status_code == 400, response.content
    assert key in response.json()["allocation_config"]["leg_overrides"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/options/baskets/",
        "/api/v1/broker-accounts/",
        "/api/v1/kill-switch/",
    ],
)
def test_deeply_nested_json_body_is_400_on_the_api(api, path):
    response = api.generic("POST", path, DEEP, content_type="application/json")
    assert response.status_code == 400
    assert not Basket.objects.exists()


def test_deeply_nested_credentials_on_the_account_page_are_a_form_error(page):
    response = page.post("/broker-accounts/add/", {"client_id": "ZERODHA123", "broker": "ZERODHA", "credentials": DEEP})
    assert response.status_code in (200, 400)
    assert not BrokerAccount.objects.exists()


def test_deeply_nested_credentials_in_the_admin_are_a_form_error(admin_client, user):
    response = admin_client.post(
        "/admin/brokers/brokeraccount/add/",
        {
            "owner": user.pk,
            "broker": "ZERODHA",
            "client_id": "ZERODHA123",
            "name": "z",
            "status": "ACTIVE",
            "credentials_json": DEEP,
        },
    )
    assert response.status_code == 200
    assert "nested" in response.content.decode()
    assert not BrokerAccount.objects.exists()


def test_deeply_nested_json_in_an_admin_json_field_is_a_form_error(admin_client, user):
    from tests.factories import LegFactory, StrategyFactory

    leg = LegFactory(strategy=StrategyFactory(owner=user))
    response = admin_client.post(f"/admin/strategies/leg/{leg.pk}/change/", {"strike_selection_config": DEEP})
    assert response.status_code == 200
    assert "JSON" in response.content.decode()


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01"])
def test_schedule_page_far_dates_do_not_fail(page, value):
    response = page.get(f"/schedule/?from={value}")
    assert response.status_code == 400


@pytest.mark.parametrize("strategy_id", ["not-a-uuid", "", "00000000-0000-0000-0000-000000000000"])
def test_manual_run_page_with_a_bad_strategy_id_is_4xx(page, strategy_id):
    response = page.post("/executions/run/", {"strategy_id": strategy_id, "execution_type": "entry"})
    assert 400 <= response.status_code < 500
    assert not Execution.objects.exists()


@pytest.mark.parametrize(
    "target", ["javascript:alert(1)", "https://evil.example/phish", "//evil.example/x", "/\\evil.example"]
)
def test_manual_run_never_redirects_off_site(page, user, target):
    from tests.factories import StrategyFactory

    strategy = StrategyFactory(owner=user)
    response = page.post(
        "/executions/run/", {"strategy_id": str(strategy.pk), "execution_type": "bogus", "next": target}
    )
    assert response.status_code == 302
    assert response.url == "/schedule/"


def test_manual_run_honours_a_same_site_next(page, user):
    from tests.factories import StrategyFactory

    strategy = StrategyFactory(owner=user)
    response = page.post(
        "/executions/run/", {"strategy_id": str(strategy.pk), "execution_type": "bogus", "next": "/dashboard/"}
    )
    assert response.url == "/dashboard/"


def test_reconciliation_of_an_account_without_an_adapter_is_a_4xx_with_the_reason(api, user):
    BrokerAccountFactory(owner=user, client_id="ANGEL1", broker="ANGELONE")
    BrokerAccount.objects.filter(client_id="ANGEL1").update(broker="NOSUCH")
    response = api.get("/api/v1/broker-accounts/ANGEL1/reconciliation/")
    assert response.status_code == 409
    assert "adapter" in response.json()["detail"]


def test_admin_reconcile_of_an_account_without_an_adapter_shows_the_reason(admin_client, user):
    account = BrokerAccountFactory(owner=user, client_id="ANGEL1")
    BrokerAccount.objects.filter(pk=account.pk).update(broker="NOSUCH")
    response = admin_client.post(
        "/admin/brokers/brokeraccount/",
        {"action": "reconcile", "_selected_action": [account.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "no adapter" in response.content.decode()
    assert not Alert.objects.exists()


@pytest.mark.parametrize("value", ["99999999999999.97", "99999999999999.99", 1e15])
def test_capital_beyond_what_every_backend_holds_is_400_naming_the_field(api, value):
    body = {**seed001.BASKET, "initial_capital": value}
    response = api.post("/api/v1/options/baskets/", body, format="json")
    assert response.status_code == 400
    assert "initial_capital" in response.json()
    assert not Basket.objects.exists()


def test_capital_beyond_what_every_backend_holds_is_a_form_error_in_the_admin(admin_client, user):
    response = admin_client.post(
        "/admin/baskets/basket/add/",
        {
            "owner": user.pk,
            "basket_name": "Big",
            "initial_capital": "99999999999999.97",
            "deployable_percentage": "80",
            "status": "ACTIVE",
        },
    )
    assert response.status_code == 200
    assert not Basket.objects.exists()
