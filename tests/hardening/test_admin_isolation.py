"""Tenant isolation through the admin: no owner change under dependent rows; actions need the change permission."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.test import Client

from baskets.models import Basket
from brokers.models import BrokerAccount
from execution.models import Alert
from strategies.models import Strategy
from tests.factories import AllocationFactory, BasketFactory, BrokerAccountFactory, StrategyFactory, UserFactory

pytestmark = pytest.mark.django_db


def account_form(account, owner):
    return {
        "owner": owner.pk,
        "broker": account.broker,
        "client_id": account.client_id,
        "name": account.name,
        "status": account.status,
    }


def basket_form(basket, owner):
    return {
        "owner": owner.pk,
        "basket_name": basket.basket_name,
        "description": basket.description,
        "initial_capital": "500000",
        "deployable_percentage": "80",
        "status": basket.status,
    }


def test_owner_change_of_a_broker_account_with_allocations_is_refused_and_logged(
    admin_client, user, other_user, caplog
):
    account = BrokerAccountFactory(owner=user)
    AllocationFactory(strategy=StrategyFactory(owner=user), broker_account=account)
    response = admin_client.post(
        f"/admin/brokers/brokeraccount/{account.pk}/change/", account_form(account, other_user)
    )
    assert response.status_code == 200
    assert "cannot change owner" in response.content.decode()
    account.refresh_from_db()
    assert account.owner == user
    assert "owner change refused" in caplog.text


def test_owner_change_of_a_broker_account_with_nothing_on_it_is_allowed(admin_client, user, other_user):
    account = BrokerAccountFactory(owner=user)
    response = admin_client.post(
        f"/admin/brokers/brokeraccount/{account.pk}/change/", account_form(account, other_user)
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.owner == other_user
    assert LogEntry.objects.filter(object_id=str(account.pk)).exists()


def test_owner_change_of_a_basket_with_strategies_is_refused(admin_client, user, other_user):
    basket = BasketFactory(owner=user)
    StrategyFactory(owner=user, basket=basket)
    response = admin_client.post(f"/admin/baskets/basket/{basket.pk}/change/", basket_form(basket, other_user))
    assert response.status_code == 200
    assert "cannot change owner" in response.content.decode()
    assert Basket.objects.get().owner == user


def test_owner_change_of_a_strategy_with_allocations_is_refused(admin_client, user, other_user):
    strategy = StrategyFactory(owner=user)
    AllocationFactory(strategy=strategy, broker_account=BrokerAccountFactory(owner=user))
    response = admin_client.get(f"/admin/strategies/strategy/{strategy.pk}/change/")
    form = response.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {key: value for key, value in data.items() if value is not None}
    data.update({"owner": other_user.pk, "basket": ""})
    for formset in response.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in management.fields:
            data[f"{formset.formset.prefix}-{name}"] = management[name].value()
    response = admin_client.post(f"/admin/strategies/strategy/{strategy.pk}/change/", data)
    assert Strategy.objects.get().owner == user


def viewer_client(*codenames):
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(viewer)
    return client


def test_view_only_staff_cannot_acknowledge_alerts(user):
    alert = Alert.objects.create(owner=user, kind="STALE_FEED", severity="WARNING", message="x")
    client = viewer_client("view_alert")
    client.post("/admin/execution/alert/", {"action": "acknowledge", "_selected_action": [alert.pk]})
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_staff_with_change_permission_can_acknowledge_alerts(user):
    alert = Alert.objects.create(owner=user, kind="STALE_FEED", severity="WARNING", message="x")
    client = viewer_client("view_alert", "change_alert")
    client.post("/admin/execution/alert/", {"action": "acknowledge", "_selected_action": [alert.pk]})
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None


@pytest.mark.parametrize("action", ["reconcile", "block_entries", "clear_entry_block", "flatten_and_block"])
def test_view_only_staff_cannot_run_broker_account_actions(user, action):
    account = BrokerAccountFactory(owner=user)
    client = viewer_client("view_brokeraccount")
    response = client.post("/admin/brokers/brokeraccount/", {"action": action, "_selected_action": [account.pk]})
    assert b"agree" not in response.content
    assert not BrokerAccount.objects.filter(entries_blocked=True).exists()
    changelist = client.get("/admin/brokers/brokeraccount/").content.decode()
    assert f'value="{action}"' not in changelist
