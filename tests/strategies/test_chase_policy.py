"""The chase policy per leg and on_failed_entry per strategy: defaults, editable in the API, builder and admin."""

import pytest

from strategies.models import Leg, Strategy

pytestmark = pytest.mark.django_db


def test_legs_carry_a_default_chase_policy_that_completes_on_the_paper_broker(api, condor_id):
    leg = api.get(f"/api/v1/options/strategies/{condor_id}/legs/1/").json()
    assert (leg["chase_after_seconds"], leg["chase_max_modifies"], leg["market_protection_pct"]) == (5, 2, 2.0)
    strategy = api.get(f"/api/v1/options/strategies/{condor_id}/").json()
    assert strategy["on_failed_entry"] == "UNWIND"


def test_the_chase_policy_is_edited_through_the_api(api, condor_id):
    response = api.patch(
        f"/api/v1/options/strategies/{condor_id}/legs/2/",
        {"chase_after_seconds": 3, "chase_max_modifies": 4, "market_protection_pct": "1.5"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    leg = Leg.objects.get(strategy_id=condor_id, leg_no=2)
    assert (leg.chase_after_seconds, leg.chase_max_modifies, str(leg.market_protection_pct)) == (3, 4, "1.50")
    response = api.patch(f"/api/v1/options/strategies/{condor_id}/", {"on_failed_entry": "KEEP"}, format="json")
    assert response.status_code == 200
    assert Strategy.objects.get(pk=condor_id).on_failed_entry == "KEEP"


@pytest.mark.parametrize(
    ("field", "value"),
    [("chase_after_seconds", 0), ("chase_after_seconds", 601), ("chase_max_modifies", -1),
     ("chase_max_modifies", 21), ("market_protection_pct", 0), ("market_protection_pct", "25"),
     ("chase_after_seconds", "soon")],
)  # fmt: skip
def test_a_bad_chase_policy_is_a_400_naming_the_field(api, condor_id, field, value):
    response = api.patch(f"/api/v1/options/strategies/{condor_id}/legs/2/", {field: value}, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_a_bad_on_failed_entry_is_a_400(api, condor_id):
    response = api.patch(f"/api/v1/options/strategies/{condor_id}/", {"on_failed_entry": "PRAY"}, format="json")
    assert response.status_code == 400 and "on_failed_entry" in response.json()


def test_the_builder_edits_the_chase_policy(client, user, condor_id):
    client.force_login(user)
    leg = Leg.objects.get(strategy_id=condor_id, leg_no=1)
    page = client.get(f"/strategies/{condor_id}/").content.decode()
    assert 'name="chase_after_seconds"' in page and 'name="on_failed_entry"' in page
    from strategies.views import _leg_values

    data = {k: ("on" if v is True else v) for k, v in _leg_values(leg).items() if v is not False}
    data.update(chase_after_seconds="8", chase_max_modifies="1", market_protection_pct="3")
    response = client.post(f"/strategies/{condor_id}/legs/1/", data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200, response.content.decode()[:500]
    leg.refresh_from_db()
    assert (leg.chase_after_seconds, leg.chase_max_modifies, str(leg.market_protection_pct)) == (8, 1, "3.00")
    data["chase_after_seconds"] = "0"
    response = client.post(f"/strategies/{condor_id}/legs/1/", data, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    field = body.split('name="chase_after_seconds"')[1].split(">")[0]
    assert 'aria-invalid="true"' in field, field
    assert "Ensure this value is greater than or equal to 1." in body
    leg.refresh_from_db()
    assert leg.chase_after_seconds == 8
