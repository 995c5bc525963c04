"""The strategy builder: strategy fields, legs inline, payoff; the API's messages, nothing typed lost."""

import re

import pytest

from strategies.models import Leg, Strategy
from tests.factories import BasketFactory, iron_condor

STRATEGY_FORM = {
    "strategy_name": "Weekly Iron Condor NIFTY",
    "description": "Weekly NIFTY Iron Condor for income",
    "basket_id": "",
    "underlying": "NIFTY",
    "product": "NRML",
    "category": "INCOME",
    "entry_time": "09:30",
    "exit_time": "15:20",
    "entry_days": ["MONDAY"],
    "exit_days": ["FRIDAY"],
}


def leg_form(leg_no, side, leg_type, method="ATM_OFFSET", parameter="0", **extra):
    return {
        "leg_no": str(leg_no),
        "lots": "2",
        "transaction_type": side,
        "leg_type": leg_type,
        "method": method,
        "parameter": parameter,
        "expiry_type": "WEEKLY",
        "expiry_offset": "0",
        "order_type": "LIMIT",
        "stop_loss": "50",
        "category": "",
        "entry_slippage": "5",
        "exit_slippage": "5",
        "entry_max_slippage": "10",
        "exit_max_slippage": "10",
        "enabled": "on",
        **extra,
    }


def body(response) -> str:
    return response.content.decode()


def test_creating_a_strategy_in_a_basket_persists_it_and_opens_the_builder(page, user):
    basket = BasketFactory(owner=user)
    response = page.post("/strategies/new/", {**STRATEGY_FORM, "basket_id": str(basket.pk)})
    strategy = Strategy.objects.get(owner=user)
    assert response.status_code == 302 and response["Location"] == f"/strategies/{strategy.pk}/"
    assert strategy.basket == basket
    assert (strategy.entry_days, strategy.exit_days) == (["MONDAY"], ["FRIDAY"])
    assert f"{strategy.entry_time:%H:%M}-{strategy.exit_time:%H:%M}" == "09:30-15:20"
    assert not strategy.is_intra_day


def test_the_new_strategy_page_preselects_the_basket_it_came_from(page, user):
    basket = BasketFactory(owner=user)
    html = body(page.get(f"/strategies/new/?basket={basket.pk}"))
    assert f'<option value="{basket.pk}" selected>' in html


def test_an_intraday_strategy_exiting_before_it_enters_shows_the_apis_message_and_keeps_what_was_typed(page, user):
    form = {
        **STRATEGY_FORM,
        "strategy_name": "Morning scalp",
        "product": "MIS",
        "entry_time": "10:00",
        "exit_time": "09:45",
        "entry_days": ["MONDAY", "WEDNESDAY"],
        "exit_days": [],
    }
    response = page.post("/strategies/new/", form)
    assert response.status_code == 400
    html = body(response)
    assert "An intraday (MIS) strategy must exit after it enters: 09:45 is not after 10:00." in html
    assert 'value="Morning scalp"' in html
    assert 'name="entry_time" id="id_entry_time" value="10:00"' in html
    assert 'name="exit_time" id="id_exit_time" value="09:45"' in html
    assert '<option value="MIS" selected>' in html
    assert 'value="WEDNESDAY" checked' in html
    assert "Weekly NIFTY Iron Condor for income" in html
    assert "Please correct the fields marked below." in html
    assert not Strategy.objects.exists()


def test_the_page_message_is_the_apis_message(page, api):
    form = {**STRATEGY_FORM, "product": "MIS", "entry_time": "10:00", "exit_time": "09:45", "exit_days": []}
    payload = {k: v for k, v in form.items() if k not in ("basket_id", "exit_days")}  # MIS: exit days default
    api_message = api.post("/api/v1/options/strategies/", payload, format="json").json()["exit_time"][0]
    assert api_message in body(page.post("/strategies/new/", form))


def test_missing_entry_days_are_reported_on_their_field(page, user):
    response = page.post("/strategies/new/", {**STRATEGY_FORM, "entry_days": []})
    assert response.status_code == 400
    assert re.search(r"<legend>Entry days</legend>.*?This field is required\.", body(response), re.S)


def test_a_time_outside_the_session_is_reported_on_its_field(page, user):
    response = page.post("/strategies/new/", {**STRATEGY_FORM, "entry_time": "08:00"})
    assert response.status_code == 400
    assert "08:00 is outside the trading session 09:15-15:30 IST." in body(response)


def test_editing_a_strategy_saves_it_and_a_failed_edit_keeps_the_typed_values(page, user):
    strategy = iron_condor(owner=user)
    url = f"/strategies/{strategy.pk}/"
    ok = page.post(url, {**STRATEGY_FORM, "strategy_name": "Renamed", "status": "PAUSED"})
    assert ok.status_code == 302
    strategy.refresh_from_db()
    assert (strategy.strategy_name, strategy.status) == ("Renamed", "PAUSED")
    bad = page.post(url, {**STRATEGY_FORM, "strategy_name": "Typed name", "entry_time": "9 am", "status": "ACTIVE"})
    assert bad.status_code == 400
    assert "Time has wrong format. Use one of these formats instead: hh:mm." in body(bad)
    assert 'value="Typed name"' in body(bad) and 'value="9 am"' in body(bad)
    assert "Please correct the fields marked below." in body(bad)
    strategy.refresh_from_db()
    assert strategy.strategy_name == "Renamed"


def test_adding_the_four_iron_condor_legs_through_the_page_persists_them(page, user):
    strategy = iron_condor(owner=user, base_lots=(1, 1, 1, 1))
    strategy.legs.all().delete()
    url = f"/strategies/{strategy.pk}/legs/"
    forms = [
        leg_form(1, "SELL", "PUT", "DELTA", "0.2"),
        leg_form(2, "BUY", "PUT", "STRIKE_DISTANCE", "500"),
        leg_form(3, "SELL", "CALL", "DELTA", "0.2"),
        leg_form(4, "BUY", "CALL", "STRIKE_DISTANCE", "500"),
    ]
    for form in forms:
        assert page.post(url, form).status_code == 302
    legs = list(strategy.legs.order_by("leg_no"))
    assert [(leg.leg_no, leg.transaction_type, leg.leg_type, leg.lots) for leg in legs] == [
        (1, "SELL", "PUT", 2),
        (2, "BUY", "PUT", 2),
        (3, "SELL", "CALL", 2),
        (4, "BUY", "CALL", 2),
    ]
    assert legs[0].strike_selection_config == {"method": "DELTA", "delta_value": 0.2}
    assert legs[1].entry_by == "STRIKE_DISTANCE"
    assert legs[1].strike_selection_config == {"method": "STRIKE_DISTANCE", "strike_distance": 500.0}
    assert str(legs[0].stop_loss) == "50.00" and legs[0].order_type == "LIMIT"


def test_adding_a_leg_with_htmx_returns_the_new_leg_and_a_fresh_add_form(page, user, nifty):
    strategy = iron_condor(owner=user)
    response = page.post(f"/strategies/{strategy.pk}/legs/", leg_form(5, "BUY", "CALL"), HTTP_HX_REQUEST="true")
    html = body(response)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "legs-changed"
    assert 'hx-swap-oob="beforeend:#legs"' in html and 'id="leg-5"' in html
    assert re.search(r'name="leg_no" id="new-leg_no" value="6"', html)
    assert strategy.legs.filter(leg_no=5).exists()


def test_an_invalid_leg_shows_the_apis_messages_next_to_its_fields_and_keeps_the_typed_values(page, user):
    strategy = iron_condor(owner=user)
    form = leg_form(1, "SELL", "PUT", "DELTA", "1.5", lots="two")
    response = page.post(f"/strategies/{strategy.pk}/legs/", form)
    html = body(response)
    assert response.status_code == 400
    assert "A whole number (JSON integer) is required." in html  # lots
    assert "delta_value must be strictly between 0 and 1." in html  # the strike parameter
    assert 'id="new-lots" value="two"' in html
    assert 'id="new-parameter" value="1.5"' in html


def test_a_leg_number_already_taken_is_refused_with_the_apis_message(page, user):
    strategy = iron_condor(owner=user)
    response = page.post(f"/strategies/{strategy.pk}/legs/", leg_form(2, "SELL", "PUT"), HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "The strategy already has leg 2." in body(response)
    assert strategy.legs.count() == 4


def test_a_blank_strike_parameter_uses_the_documented_default_and_says_so(page, user):
    strategy = iron_condor(owner=user)
    response = page.post(
        f"/strategies/{strategy.pk}/legs/", leg_form(5, "SELL", "PUT", "DELTA", ""), HTTP_HX_REQUEST="true"
    )
    assert "Leg 5: the strike parameter was blank, so it uses the default delta 0.2." in body(response)
    assert "strike_selection_config" not in body(response)  # the API's words stay in the API
    assert strategy.legs.get(leg_no=5).strike_selection_config == {"method": "DELTA", "delta_value": 0.2}
    assert 'name="parameter" id="leg5-parameter" value="0.2"' in body(response)  # shown with its default


def test_editing_a_leg_inline_saves_it(page, user):
    strategy = iron_condor(owner=user)
    form = leg_form(3, "SELL", "CALL", "ATM_OFFSET", "4", lots="5")
    response = page.post(f"/strategies/{strategy.pk}/legs/3/", form, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Trigger"] == "legs-changed"
    leg = strategy.legs.get(leg_no=3)
    assert leg.lots == 5 and leg.strike_selection_config == {"method": "ATM_OFFSET", "atm_offset": 4}


def test_a_failed_leg_edit_keeps_the_typed_values_in_that_leg(page, user):
    strategy = iron_condor(owner=user)
    form = leg_form(3, "SELL", "CALL", "ATM_OFFSET", "99", lots="0")
    response = page.post(f"/strategies/{strategy.pk}/legs/3/", form)
    html = body(response)
    assert response.status_code == 400
    assert "Ensure this value is greater than or equal to 1." in html
    assert "Ensure this value is less than or equal to 50." in html
    assert 'id="leg3-lots" value="0"' in html and 'id="leg3-parameter" value="99"' in html
    assert strategy.legs.get(leg_no=3).lots == 2


def test_removing_a_leg(page, user):
    strategy = iron_condor(owner=user)
    response = page.post(f"/strategies/{strategy.pk}/legs/4/delete/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response.content == b""
    assert list(strategy.legs.values_list("leg_no", flat=True)) == [1, 2, 3]


def test_the_builder_shows_the_payoff_chart_with_breakevens_and_max_profit_and_loss(page, user, nifty):
    strategy = iron_condor(owner=user)
    for leg, config in zip(
        strategy.legs.order_by("leg_no"),
        [
            {"method": "ATM_OFFSET", "atm_offset": 4},
            {"method": "ATM_OFFSET", "atm_offset": 6},
            {"method": "ATM_OFFSET", "atm_offset": 4},
            {"method": "ATM_OFFSET", "atm_offset": 6},
        ],
        strict=True,
    ):
        Leg.objects.filter(pk=leg.pk).update(strike_selection_config=config)
    html = body(page.get(f"/strategies/{strategy.pk}/"))
    assert '<svg class="payoff-svg"' in html and "<polyline" in html
    # strikes 25800/25700 puts, 26200/26300 calls around spot 26000, 2 lots × 65
    assert "25,800" in html and "26,300" in html
    assert 'id="payoff-max-profit"' in html and 'id="payoff-breakevens"' in html
    assert re.search(r'id="payoff-max-loss">-[\d,]+\.\d\d<', html)


def test_the_payoff_assumptions_can_be_changed(page, user, nifty):
    strategy = iron_condor(owner=user)
    html = body(page.get(f"/strategies/{strategy.pk}/payoff/?spot=25000&iv=20&days=3"))
    assert 'name="spot" id="payoff-spot" value="25000"' in html
    assert "at 20 % IV, 3 days" in html


def test_without_an_index_price_the_payoff_uses_the_reference_spot(page, user):
    strategy = iron_condor(owner=user)
    html = body(page.get(f"/strategies/{strategy.pk}/"))
    assert "reference spot (no index price yet)" in html
    assert '<svg class="payoff-svg"' in html


def test_deleting_a_strategy_that_never_traded_removes_it(page, user):
    strategy = iron_condor(owner=user)
    response = page.post(f"/strategies/{strategy.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/strategies/"
    assert not Strategy.objects.filter(pk=strategy.pk).exists()


@pytest.mark.parametrize("status", ["", "ARCHIVED"])
def test_the_strategy_list_renders(page, user, status):
    iron_condor(owner=user, strategy_name="Listed condor")
    html = body(page.get(f"/strategies/?status={status}"))
    assert ("Listed condor" in html) is (status == "")


def test_moving_a_leg_down_swaps_its_number_with_the_next_and_overrides_follow_the_legs(page, user):
    from allocations.models import LegOverride
    from tests.factories import AllocationFactory, LegOverrideFactory, iron_condor

    strategy = iron_condor(owner=user)
    allocation = AllocationFactory(strategy=strategy, allocation_type="LEG_LEVEL", strategy_lots_multiplier=None)
    leg1 = strategy.legs.get(leg_no=1)
    LegOverrideFactory(allocation=allocation, leg=leg1, lots=5)

    response = page.post(f"/strategies/{strategy.pk}/legs/1/move/", {"direction": "down"})

    assert response.status_code == 302
    legs = {leg.leg_no: (leg.transaction_type, leg.leg_type) for leg in strategy.legs.all()}
    assert legs[1] == ("BUY", "PUT") and legs[2] == ("SELL", "PUT")
    assert LegOverride.objects.get(allocation=allocation).leg.leg_no == 2  # the override moved with its leg
    page.post(f"/strategies/{strategy.pk}/legs/1/move/", {"direction": "up"})  # already first: nothing moves
    assert strategy.legs.get(leg_no=1).transaction_type == "BUY"


def test_another_user_cannot_move_a_leg(other_page, user):
    from tests.factories import iron_condor

    strategy = iron_condor(owner=user)
    assert other_page.post(f"/strategies/{strategy.pk}/legs/1/move/", {"direction": "down"}).status_code == 404
