"""Credentials: a size cap and, per broker, only the keys its adapter knows (API, pages, admin)."""

import json

from brokers.models import BrokerAccount

ZERODHA = {"api_key": "kite-key-1", "api_secret": "s3cret-value"}


def post(api, credentials, broker="ZERODHA"):
    body = {"client_id": "AB1234", "broker": broker, "credentials": credentials}
    return api.post("/api/v1/broker-accounts/", body, format="json")


def test_credentials_larger_than_4_kb_are_400(api):
    big = {**ZERODHA, **{f"access_token{n}": "x" * 400 for n in range(11)}}
    response = post(api, big)
    assert response.status_code == 400
    assert "credentials" in response.json()
    assert not BrokerAccount.objects.exists()


def test_a_key_the_broker_does_not_use_is_400_naming_it(api):
    response = post(api, {**ZERODHA, "password_of_my_bank": "x"})
    assert response.status_code == 400
    assert "password_of_my_bank" in response.json()["credentials"]


def test_a_paper_account_takes_no_credentials(api):
    response = post(api, {"anything": "x"}, broker="PAPER")
    assert response.status_code == 400
    assert "anything" in response.json()["credentials"]


def test_zerodha_may_also_hold_its_session_and_algo_keys(api):
    response = post(api, {**ZERODHA, "access_token": "tok", "algo_id": "ALGO1"})
    assert response.status_code == 201, response.json()


def test_admin_credentials_with_an_unknown_key_are_a_form_error(admin_client, user):
    response = admin_client.post(
        "/admin/brokers/brokeraccount/add/",
        {
            "owner": user.pk,
            "broker": "ZERODHA",
            "client_id": "AB1234",
            "name": "z",
            "status": "ACTIVE",
            "credentials_json": json.dumps({**ZERODHA, "bogus": "1"}),
        },
    )
    assert response.status_code == 200
    assert "bogus" in response.content.decode()
    assert not BrokerAccount.objects.exists()


def test_admin_credentials_larger_than_4_kb_are_a_form_error(admin_client, user):
    response = admin_client.post(
        "/admin/brokers/brokeraccount/add/",
        {
            "owner": user.pk,
            "broker": "ZERODHA",
            "client_id": "AB1234",
            "name": "z",
            "status": "ACTIVE",
            "credentials_json": json.dumps({**ZERODHA, "access_token": "x" * 5000}),
        },
    )
    assert response.status_code == 200
    assert not BrokerAccount.objects.exists()
