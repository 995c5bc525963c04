"""The allocation grid: seed 001's figures, live preview without saving, atomic save of every row."""

import re

import pytest

from allocations.models import Allocation
from tests.factories import BrokerAccountFactory, iron_condor


def body(response) -> str:
    return response.content.decode()


def figure(html: str, element_id: str) -> str:
    match = re.search(rf'id="{re.escape(element_id)}"[^>]*>(.*?)<', html, re.S)
    assert match, f"no element #{element_id}"
    return match.group(1).strip()


def grid_form(rows: dict, legs=(1, 2, 3, 4)) -> dict:
    """rows: {account: {"on": bool, "mode": ..., "priority": ..., "multiplier": ..., "lots": {...}, "off": {...}}}"""
    data = {}
    for account, row in rows.items():
        prefix = f"a-{account.pk}"
        if row.get("on", True):
            data[f"{prefix}-on"] = "on"
        data[f"{prefix}-mode"] = row.get("mode", "LEG_LEVEL")
        data[f"{prefix}-priority"] = str(row.get("priority", 1))
        data[f"{prefix}-multiplier"] = str(row.get("multiplier", "1"))
        for no in legs:
            data[f"{prefix}-leg{no}-lots"] = str(row.get("lots", {}).get(no, 2))
            if no not in row.get("off", ()):
                data[f"{prefix}-leg{no}-enabled"] = "on"
    return data


@pytest.fixture
def condor(user, nifty):
    return iron_condor(owner=user)


@pytest.fixture
def accounts(user):
    return [BrokerAccountFactory(owner=user, client_id=c) for c in ("ZERODHA123", "ANGELONE456")]


def test_the_demo_grid_shows_8_10_and_18_lots(demo):
    strategy = demo["strategy"]
    html = body(demo["client"].get(f"/strategies/{strategy.pk}/allocations/"))
    accounts = {a.broker_account.client_id: a.broker_account for a in strategy.allocations.all()}
    assert figure(html, f"row-lots-{accounts['ZERODHA123'].pk}") == "8"
    assert figure(html, f"row-lots-{accounts['ANGELONE456'].pk}") == "10"
    assert figure(html, "grand-lots") == "18"
    # quantity at lot size 65: 18 × 65
    assert figure(html, "grand-qty") == "1,170"
    assert [figure(html, f"col-lots-{no}") for no in (1, 2, 3, 4)] == ["4", "4", "5", "5"]
    assert "ZERODHA123 leg 1 lots" in html


def test_the_demo_grid_agrees_with_the_api_summary(demo):
    from rest_framework.test import APIClient

    strategy = demo["strategy"]
    api = APIClient()
    api.force_authenticate(demo["user"])
    summary = api.get(f"/api/v1/options/strategies/{strategy.pk}/allocations/summary/").json()
    html = body(demo["client"].get(f"/strategies/{strategy.pk}/allocations/"))
    margin = figure(html, "grand-margin").replace(",", "")
    assert float(margin) == summary["totals"]["estimated_margin_required"]
    assert int(figure(html, "grand-qty").replace(",", "")) == summary["totals"]["total_quantity"]


def test_saving_the_grid_creates_every_allocation_with_its_overrides(page, condor, accounts):
    zerodha, angel = accounts
    form = grid_form(
        {
            zerodha: {"priority": 1, "lots": {1: 3, 2: 3, 3: 1, 4: 1}},
            angel: {"priority": 2, "mode": "STRATEGY_LEVEL", "multiplier": "1.5"},
        }
    )
    response = page.post(f"/strategies/{condor.pk}/allocations/", form)
    assert response.status_code == 302
    first = Allocation.objects.get(strategy=condor, broker_account=zerodha)
    assert first.allocation_type == "LEG_LEVEL" and first.priority == 1
    assert {o.leg.leg_no: (o.lots, o.enabled) for o in first.leg_overrides.all()} == {
        1: (3, True),
        2: (3, True),
        3: (1, True),
        4: (1, True),
    }
    second = Allocation.objects.get(strategy=condor, broker_account=angel)
    assert second.allocation_type == "STRATEGY_LEVEL" and str(second.strategy_lots_multiplier) == "1.500"
    assert not second.leg_overrides.exists()
    html = body(page.get(f"/strategies/{condor.pk}/allocations/"))
    assert figure(html, f"row-lots-{zerodha.pk}") == "8"
    assert figure(html, f"row-lots-{angel.pk}") == "12"  # floor(2 × 1.5) × 4
    assert figure(html, "grand-lots") == "20"


def test_a_cell_switched_off_excludes_the_leg_for_that_account(page, condor, accounts):
    zerodha, angel = accounts
    form = grid_form({zerodha: {"off": {4}}, angel: {"on": False}})
    assert page.post(f"/strategies/{condor.pk}/allocations/", form).status_code == 302
    override = Allocation.objects.get(broker_account=zerodha).leg_overrides.get(leg__leg_no=4)
    assert override.enabled is False
    assert not Allocation.objects.filter(broker_account=angel).exists()


def test_saving_updates_existing_rows_and_deletes_rows_switched_off(demo):
    strategy = demo["strategy"]
    client = demo["client"]
    zerodha = strategy.allocations.get(broker_account__client_id="ZERODHA123")
    angel = strategy.allocations.get(broker_account__client_id="ANGELONE456")
    limits = dict(zerodha.risk_limits)
    form = grid_form(
        {
            zerodha.broker_account: {"priority": 1, "mode": "STRATEGY_LEVEL", "multiplier": "2"},
            angel.broker_account: {"on": False},
        }
    )
    assert client.post(f"/strategies/{strategy.pk}/allocations/", form).status_code == 302
    zerodha.refresh_from_db()
    assert zerodha.allocation_type == "STRATEGY_LEVEL" and zerodha.strategy_lots_multiplier == 2
    assert zerodha.risk_limits == limits  # a post without the risk fields keeps them
    assert not Allocation.objects.filter(pk=angel.pk).exists()


def test_a_refused_row_saves_nothing_and_shows_the_apis_message_in_its_cell(demo):
    strategy = demo["strategy"]
    client = demo["client"]
    zerodha = strategy.allocations.get(broker_account__client_id="ZERODHA123").broker_account
    angel = strategy.allocations.get(broker_account__client_id="ANGELONE456").broker_account
    form = grid_form({zerodha: {"lots": {1: 7, 2: 7, 3: 1, 4: 1}}, angel: {"lots": {1: 1, 2: 0, 3: 4, 4: 4}}})
    response = client.post(f"/strategies/{strategy.pk}/allocations/", form)
    html = body(response)
    assert response.status_code == 400
    assert "Ensure this value is greater than or equal to 1." in html
    assert f'id="a-{angel.pk}-leg2-lots" value="0"' in html  # kept as typed
    assert f'id="a-{zerodha.pk}-leg1-lots" value="7"' in html
    overrides = strategy.allocations.get(broker_account=zerodha).leg_overrides.order_by("leg__leg_no")
    assert [o.lots for o in overrides] == [3, 3, 1, 1]


def test_a_multiplier_that_rounds_a_leg_to_zero_is_refused_naming_the_leg_and_account(page, condor, accounts):
    zerodha, angel = accounts
    form = grid_form({zerodha: {"mode": "STRATEGY_LEVEL", "multiplier": "0.4"}, angel: {"on": False}})
    response = page.post(f"/strategies/{condor.pk}/allocations/", form)
    assert response.status_code == 400
    assert "leg 1 for account ZERODHA123 would trade 0 lots" in body(response)
    assert not Allocation.objects.exists()


def test_the_preview_recalculates_without_saving(page, condor, accounts):
    zerodha, angel = accounts
    form = grid_form({zerodha: {"lots": {1: 3, 2: 3, 3: 1, 4: 1}}, angel: {"lots": {1: 1, 2: 1, 3: 4, 4: 4}}})
    response = page.post(f"/strategies/{condor.pk}/allocations/preview/", form, HTTP_HX_REQUEST="true")
    html = body(response)
    assert response.status_code == 200
    assert figure(html, f"row-lots-{zerodha.pk}") == "8"
    assert figure(html, f"row-lots-{angel.pk}") == "10"
    assert figure(html, "grand-lots") == "18"
    assert html.count('hx-swap-oob="true"') > 10
    assert not Allocation.objects.exists()


def test_the_preview_warns_inline_about_a_broken_hedge(page, condor, accounts):
    zerodha, angel = accounts
    form = grid_form({zerodha: {"lots": {1: 3, 2: 1, 3: 1, 4: 1}}, angel: {"on": False}})
    html = body(page.post(f"/strategies/{condor.pk}/allocations/preview/", form))
    notes = re.search(rf'id="notes-{zerodha.pk}".*?</div>', html, re.S).group(0)
    assert "ZERODHA123: PUT side sells 3 lots but buys only 1" in notes


def test_the_preview_reports_an_invalid_multiplier_next_to_it(page, condor, accounts):
    zerodha, angel = accounts
    form = grid_form({zerodha: {"mode": "STRATEGY_LEVEL", "multiplier": "-1"}, angel: {"on": False}})
    html = body(page.post(f"/strategies/{condor.pk}/allocations/preview/", form))
    errors = re.search(rf'id="err-{zerodha.pk}-multiplier".*?</div>', html, re.S).group(0)
    assert "Must be greater than 0." in errors
    assert figure(html, f"row-lots-{zerodha.pk}") == "—"


def test_a_strategy_without_legs_asks_for_legs_first(page, user, accounts):
    strategy = iron_condor(owner=user)
    strategy.legs.all().delete()
    assert "has no legs yet" in body(page.get(f"/strategies/{strategy.pk}/allocations/"))


def test_without_an_instrument_master_quantity_is_unknown_but_lots_still_add_up(page, user, accounts):
    strategy = iron_condor(owner=user)
    zerodha, angel = accounts
    form = grid_form({zerodha: {}, angel: {"on": False}})
    html = body(page.post(f"/strategies/{strategy.pk}/allocations/preview/", form))
    assert figure(html, "grand-lots") == "8" and figure(html, "grand-qty") == "—"
    assert "lists no NIFTY option contracts" in body(page.get(f"/strategies/{strategy.pk}/allocations/"))


def test_the_grid_warns_when_the_margin_exceeds_the_baskets_deployable_capital(demo):
    strategy = demo["strategy"]
    html = body(demo["client"].get(f"/strategies/{strategy.pk}/allocations/"))
    assert "exceeds the basket" in html and "deployable capital" in html


def test_the_grid_does_not_warn_when_the_basket_can_carry_the_margin(demo):
    basket = demo["strategy"].basket
    basket.initial_capital = basket.current_capital = 100_000_000
    basket.save()
    html = body(demo["client"].get(f"/strategies/{demo['strategy'].pk}/allocations/"))
    assert "exceeds the basket" not in html


def test_the_allocation_summary_warns_when_the_margin_exceeds_the_baskets_deployable_capital(demo):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(demo["user"])
    summary = api.get(f"/api/v1/options/strategies/{demo['strategy'].pk}/allocations/summary/").json()
    assert any("deployable capital" in warning for warning in summary["warnings"])


def test_risk_limits_are_edited_in_the_grid_with_indian_grouping(page, condor, accounts):
    zerodha, angel = accounts
    data = grid_form({zerodha: {}, angel: {"on": False}})
    data[f"a-{zerodha.pk}-risk-max_daily_loss"] = "25,000"
    data[f"a-{zerodha.pk}-risk-max_daily_trades"] = "40"
    response = page.post(f"/strategies/{condor.pk}/allocations/", data)
    assert response.status_code == 302
    limits = Allocation.objects.get(broker_account=zerodha).risk_limits
    assert float(limits["max_daily_loss"]) == 25000 and limits["max_daily_trades"] == 40
    assert "max_position_value" not in limits  # blank: no limit
    html = body(page.get(f"/strategies/{condor.pk}/allocations/"))
    assert f'name="a-{zerodha.pk}-risk-max_daily_loss" id="a-{zerodha.pk}-risk-max_daily_loss" value="25000' in html
    data[f"a-{zerodha.pk}-risk-max_daily_loss"] = ""
    page.post(f"/strategies/{condor.pk}/allocations/", data)
    assert "max_daily_loss" not in Allocation.objects.get(broker_account=zerodha).risk_limits


def test_a_bad_risk_limit_is_refused_next_to_it_and_nothing_is_saved(page, condor, accounts):
    zerodha, angel = accounts
    data = grid_form({zerodha: {}, angel: {"on": False}})
    data[f"a-{zerodha.pk}-risk-max_margin_utilization"] = "150"
    response = page.post(f"/strategies/{condor.pk}/allocations/", data)
    assert response.status_code == 400
    assert "Max margin used %:" in body(response)
    assert not Allocation.objects.exists()
