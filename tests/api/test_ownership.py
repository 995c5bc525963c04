"""Another user's object answers exactly like a missing one: 404 (lists: empty)."""

import uuid

import pytest

from tests.factories import BrokerAccountFactory

from . import seed001


@pytest.fixture
def alices_things(api, condor_id, user):
    BrokerAccountFactory(owner=user, client_id="ZERODHA123")
    basket_id = api.get(f"/api/v1/options/strategies/{condor_id}/").json()["basket_id"]
    return {"basket_id": basket_id, "strategy_id": condor_id, "client_id": "ZERODHA123"}


def endpoints(ids):
    b, s, c = ids["basket_id"], ids["strategy_id"], ids["client_id"]
    return [
        ("get", f"/api/v1/options/baskets/{b}/", None),
        ("put", f"/api/v1/options/baskets/{b}/", seed001.BASKET),
        ("patch", f"/api/v1/options/baskets/{b}/", {"basket_name": "x"}),
        ("delete", f"/api/v1/options/baskets/{b}/", None),
        ("get", f"/api/v1/options/baskets/{b}/strategies/", None),
        ("post", f"/api/v1/options/baskets/{b}/strategies/", seed001.STRATEGY),
        ("get", f"/api/v1/options/strategies/{s}/", None),
        ("put", f"/api/v1/options/strategies/{s}/", seed001.STRATEGY),
        ("patch", f"/api/v1/options/strategies/{s}/", {"strategy_name": "x"}),
        ("delete", f"/api/v1/options/strategies/{s}/", None),
        ("get", f"/api/v1/options/strategies/{s}/legs/", None),
        ("post", f"/api/v1/options/strategies/{s}/legs/", {"legs": [dict(seed001.LEGS["legs"][0], leg_no=7)]}),
        ("get", f"/api/v1/options/strategies/{s}/legs/1/", None),
        ("put", f"/api/v1/options/strategies/{s}/legs/1/", seed001.LEGS["legs"][0]),
        ("patch", f"/api/v1/options/strategies/{s}/legs/1/", {"lots": 5}),
        ("delete", f"/api/v1/options/strategies/{s}/legs/1/", None),
        ("get", f"/api/v1/broker-accounts/{c}/", None),
        ("put", f"/api/v1/broker-accounts/{c}/", {"client_id": c, "broker": "PAPER"}),
        ("patch", f"/api/v1/broker-accounts/{c}/", {"name": "x"}),
        ("delete", f"/api/v1/broker-accounts/{c}/", None),
        ("post", f"/api/v1/broker-accounts/{c}/check/", None),
    ]


def test_every_object_endpoint_answers_404_to_another_user_and_changes_nothing(api, other_api, alices_things):
    before = api.get(f"/api/v1/options/strategies/{alices_things['strategy_id']}/").json()
    for method, url, body in endpoints(alices_things):
        response = getattr(other_api, method)(url, body, format="json")
        assert response.status_code == 404, (method, url, response.status_code)
    assert api.get(f"/api/v1/options/strategies/{alices_things['strategy_id']}/").json() == before
    assert api.get(f"/api/v1/options/baskets/{alices_things['basket_id']}/").status_code == 200
    assert api.get("/api/v1/broker-accounts/ZERODHA123/").status_code == 200


def test_another_users_object_answers_the_same_body_as_a_missing_id(api, other_api, alices_things):
    theirs = other_api.get(f"/api/v1/options/strategies/{alices_things['strategy_id']}/")
    missing = other_api.get(f"/api/v1/options/strategies/{uuid.uuid4()}/")
    assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json())


def test_lists_show_another_user_nothing(other_api, alices_things):
    for url in ["/api/v1/options/baskets/", "/api/v1/options/strategies/", "/api/v1/broker-accounts/"]:
        response = other_api.get(url)
        assert response.status_code == 200
        assert response.json()["count"] == 0, url
    filtered = other_api.get(f"/api/v1/options/strategies/?basket_id={alices_things['basket_id']}")
    assert filtered.json()["count"] == 0


def test_creating_a_strategy_in_another_users_basket_by_body_is_400(other_api, alices_things):
    body = dict(seed001.STRATEGY, basket_id=alices_things["basket_id"])
    response = other_api.post("/api/v1/options/strategies/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"basket_id": ["Basket not found."]}


def test_anonymous_requests_are_401(client, alices_things):
    assert client.get("/api/v1/options/baskets/").status_code == 401
    assert client.get(f"/api/v1/options/strategies/{alices_things['strategy_id']}/").status_code == 401
