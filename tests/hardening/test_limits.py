"""Size limits: per leg, per execution, orders per execution and margin against funds; defaults in settings,
overridden by ops per user and per account. A write over a limit is a 400 naming it; an entry over one skips
that account with the reason."""

from decimal import Decimal

import pytest

from execution.models import Order
from execution.services.placement import execution_run
from limits.models import AccountLimits, UserLimits
from tests.execution.conftest import make_chain, new_execution
from tests.factories import BrokerAccountFactory


def url(strategy_id, tail=""):
    return f"/api/v1/options/strategies/{strategy_id}/allocations/{tail}"


@pytest.fixture
def zerodha(user):
    return BrokerAccountFactory(owner=user, client_id="ZERODHA123")


def test_default_limits_are_sensible(settings):
    limits = settings.TRADING_LIMITS
    assert 1 <= limits["max_lots_per_leg"] <= 500
    assert limits["max_lots_per_leg"] <= limits["max_lots_per_execution"] <= 2000
    assert 1 <= limits["max_orders_per_execution"] <= 500
    assert 0 < limits["max_margin_percent"] <= 100


def test_an_allocation_over_the_lots_per_leg_limit_is_400_naming_it(api, condor_id, zerodha, settings):
    # seed 001 legs: base lots 1, 1, 1, 1 × multiplier
    multiplier = settings.TRADING_LIMITS["max_lots_per_leg"] + 1
    response = api.post(
        url(condor_id), {"client_id": "ZERODHA123", "strategy_lots_multiplier": multiplier}, format="json"
    )
    assert response.status_code == 400, response.json()
    assert "max_lots_per_leg" in response.json()
    assert not zerodha.allocations.exists()


def test_an_allocation_over_the_lots_per_execution_limit_is_400_naming_it(api, condor_id, zerodha, user):
    UserLimits.objects.create(user=user, max_lots_per_execution=10)
    response = api.post(url(condor_id), {"client_id": "ZERODHA123", "strategy_lots_multiplier": 3}, format="json")
    assert response.status_code == 400
    assert "max_lots_per_execution" in response.json()


def test_ops_raise_a_users_limit_and_the_same_allocation_is_accepted(api, condor_id, zerodha, user):
    UserLimits.objects.create(user=user, max_lots_per_leg=1000, max_lots_per_execution=5000)
    response = api.post(url(condor_id), {"client_id": "ZERODHA123", "strategy_lots_multiplier": 500}, format="json")
    assert response.status_code == 201, response.json()


def test_an_accounts_own_limit_wins_over_its_owners(api, condor_id, zerodha, user):
    UserLimits.objects.create(user=user, max_lots_per_leg=1000, max_lots_per_execution=5000)
    AccountLimits.objects.create(broker_account=zerodha, max_lots_per_leg=2)
    response = api.post(url(condor_id), {"client_id": "ZERODHA123", "strategy_lots_multiplier": 3}, format="json")
    assert response.status_code == 400
    assert "max_lots_per_leg" in response.json()


def test_a_leg_change_that_breaks_an_accounts_limit_is_refused(api, condor_id, zerodha):
    AccountLimits.objects.create(broker_account=zerodha, max_lots_per_leg=5)
    assert (
        api.post(url(condor_id), {"client_id": "ZERODHA123", "strategy_lots_multiplier": 2}, format="json").status_code
        == 201
    )
    response = api.patch(f"/api/v1/options/strategies/{condor_id}/legs/1/", {"lots": 3}, format="json")
    assert response.status_code == 400
    assert "max_lots_per_leg" in str(response.json())


@pytest.mark.django_db(transaction=True)  # accounts are placed from threads
def test_an_entry_over_an_accounts_lots_limit_skips_that_account_with_the_reason(frozen, condor):
    make_chain()
    zerodha = condor.allocations.get(broker_account__client_id="ZERODHA123").broker_account
    AccountLimits.objects.create(broker_account=zerodha, max_lots_per_leg=2)  # seed 001 gives it 3 on leg 1
    execution = execution_run(execution_id=new_execution(condor).pk)
    brokers = {b["client_id"]: b for b in execution.execution_results["broker_executions"]}
    assert brokers["ZERODHA123"]["status"] == "SKIPPED"
    assert "max_lots_per_leg" in brokers["ZERODHA123"]["reason"]
    assert not Order.objects.filter(broker_account__client_id="ZERODHA123").exists()
    assert Order.objects.filter(broker_account__client_id="ANGELONE456").exists()


@pytest.mark.django_db(transaction=True)  # accounts are placed from threads
def test_an_entry_over_the_orders_limit_skips_the_account(frozen, condor):
    make_chain(freeze=65)  # one lot per order: ANGELONE456's 10 lots are 10 orders
    angel = condor.allocations.get(broker_account__client_id="ANGELONE456").broker_account
    AccountLimits.objects.create(broker_account=angel, max_orders_per_execution=9)
    execution = execution_run(execution_id=new_execution(condor).pk)
    brokers = {b["client_id"]: b for b in execution.execution_results["broker_executions"]}
    assert "max_orders_per_execution" in brokers["ANGELONE456"]["reason"]
    assert brokers["ZERODHA123"]["status"] == "COMPLETED"


@pytest.mark.django_db(transaction=True)  # accounts are placed from threads
def test_an_entry_whose_margin_exceeds_the_share_of_funds_skips_the_account(frozen, condor):
    make_chain()
    angel = condor.allocations.get(broker_account__client_id="ANGELONE456").broker_account
    AccountLimits.objects.create(broker_account=angel, max_margin_percent=Decimal("0.01"))
    execution = execution_run(execution_id=new_execution(condor).pk)
    brokers = {b["client_id"]: b for b in execution.execution_results["broker_executions"]}
    assert "max_margin_percent" in brokers["ANGELONE456"]["reason"]
    assert brokers["ZERODHA123"]["status"] == "COMPLETED"


def test_ops_set_an_accounts_limits_in_the_admin(admin_client, zerodha):
    response = admin_client.post(
        "/admin/limits/accountlimits/add/", {"broker_account": zerodha.pk, "max_lots_per_leg": 7}
    )
    assert response.status_code == 302
    assert AccountLimits.objects.get(broker_account=zerodha).max_lots_per_leg == 7


def test_ops_set_a_users_limits_in_the_admin(admin_client, user):
    response = admin_client.post("/admin/limits/userlimits/add/", {"user": user.pk, "max_margin_percent": "50"})
    assert response.status_code == 302
    assert UserLimits.objects.get(user=user).max_margin_percent == 50
