"""Every time on a page is IST and amounts use Indian grouping; forms accept amounts typed that way."""

import datetime as dt

import pytest
import time_machine

from baskets.models import Basket
from execution.models import Alert

pytestmark = pytest.mark.django_db


def test_a_basket_form_accepts_indian_grouping_and_shows_it_back(page):
    response = page.post(
        "/baskets/new/", {"basket_name": "Income", "initial_capital": "5,00,000", "deployable_percentage": "80"}
    )
    basket = Basket.objects.get()
    assert response.status_code == 302 and basket.initial_capital == 500000
    html = page.get(f"/baskets/{basket.pk}/").content.decode()
    assert "₹ 5,00,000.00" in html and "₹ 4,00,000.00" in html


def test_misplaced_commas_are_refused_naming_the_field(page):
    response = page.post("/baskets/new/", {"basket_name": "Income", "initial_capital": "5,0,0"})
    assert response.status_code == 400
    assert Basket.objects.count() == 0
    assert "initial_capital" in response.content.decode() or "number" in response.content.decode()


def test_dashboard_times_are_ist(page, user):
    at = dt.datetime(2026, 11, 23, 4, 0, 5, tzinfo=dt.UTC)  # 09:30:05 IST
    with time_machine.travel(at, tick=False):
        Alert.objects.create(owner=user, kind="RISK", message="Breach")
        html = page.get("/dashboard/").content.decode()
    assert "09:30:05" in html and "04:00:05" not in html
    assert "UTC" not in html
