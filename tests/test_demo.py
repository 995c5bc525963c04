"""`manage.py demo` gives the seed 001 setup and creates nothing twice."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from allocations.models import Allocation, LegOverride
from allocations.selectors import allocation_lots, allocations_for_strategy
from baskets.models import Basket
from brokers.models import BrokerAccount
from strategies.models import Leg, Strategy

pytestmark = pytest.mark.django_db
MODELS = (get_user_model(), BrokerAccount, Basket, Strategy, Leg, Allocation, LegOverride)


def counts():
    return {model.__name__: model.objects.count() for model in MODELS}


def test_demo_creates_the_seed_001_setup_with_8_and_10_lots():
    call_command("demo")
    user = get_user_model().objects.get(username="demo")
    assert user.check_password("demo-trader-2026")
    assert set(BrokerAccount.objects.filter(owner=user).values_list("client_id", "broker")) == {
        ("ZERODHA123", "PAPER"),
        ("ANGELONE456", "PAPER"),
    }
    strategy = Strategy.objects.get(owner=user, basket__basket_name="Conservative Income")
    lots = {
        a.broker_account.client_id: allocation_lots(a).total_lots for a in allocations_for_strategy(strategy=strategy)
    }
    assert lots == {"ZERODHA123": 8, "ANGELONE456": 10}


def test_running_demo_twice_creates_nothing_twice(capsys):
    call_command("demo")
    first = counts()
    call_command("demo")
    assert counts() == first
    assert "nothing (already there)" in capsys.readouterr().out
