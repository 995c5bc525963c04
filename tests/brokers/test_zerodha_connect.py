"""Connect Zerodha (Kite login -> callback -> access token stored) and the postback webhook's checksum."""

import json
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.test import Client

from brokers import sessions
from brokers.models import BrokerAccount
from brokers.postbacks import kite_checksum
from tests.brokers.conftest import KITE
from tests.factories import BrokerAccountFactory


@pytest.fixture
def page(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def zerodha(user, kite_fake, live_settings, ticking):
    live_settings.KITE_LOGIN_URL = f"{kite_fake.url}/connect/login"
    kite_fake.control(redirect_url="http://testserver/brokers/zerodha/callback/")
    account = BrokerAccountFactory(owner=user, broker="ZERODHA", client_id="ZERODHA123")
    account.credentials = KITE
    account.save()
    return account


def test_connect_zerodha_goes_to_kite_and_the_callback_stores_todays_token(page, zerodha, kite_fake):
    assert "Connect Zerodha" in page.get("/broker-accounts/").content.decode()
    response = page.post("/broker-accounts/ZERODHA123/connect-zerodha/")
    assert response.status_code == 302
    login = urlparse(response["Location"])
    assert f"{login.scheme}://{login.netloc}{login.path}" == f"{kite_fake.url}/connect/login"
    assert parse_qs(login.query)["api_key"] == ["fake_api_key"]

    # the trader logs in at Kite; Kite redirects back with the request_token and our state
    back = requests.get(response["Location"], allow_redirects=False, timeout=5)
    callback = urlparse(back.headers["Location"])
    assert parse_qs(callback.query)["state"] and parse_qs(callback.query)["request_token"]
    done = page.get(f"{callback.path}?{callback.query}", follow=True)
    assert "Zerodha connected until" in done.content.decode() and "06:00 IST" in done.content.decode()
    account = BrokerAccount.objects.get(pk=zerodha.pk)
    assert sessions.session_tokens(account)["access_token"]


def test_a_callback_not_started_here_connects_nothing(page, zerodha):
    response = page.get("/brokers/zerodha/callback/?request_token=abc&action=login&status=success&state=x", follow=True)
    assert "not started from this page" in response.content.decode()
    assert not BrokerAccount.objects.get(pk=zerodha.pk).session_token_encrypted


def test_another_users_account_cannot_be_connected(page, other_user, kite_fake, live_settings):
    BrokerAccountFactory(owner=other_user, broker="ZERODHA", client_id="THEIRS1")
    assert page.post("/broker-accounts/THEIRS1/connect-zerodha/").status_code == 404


def test_a_postback_whose_checksum_matches_no_account_is_refused(db, zerodha):
    body = {"order_id": "1", "order_timestamp": "2026-11-23 10:00:00", "user_id": "ZERODHA123"}
    forged = Client().post(
        "/brokers/zerodha/postback/",
        json.dumps({**body, "checksum": "0" * 64}),
        content_type="application/json",
    )
    assert forged.status_code == 400 and "checksum" in forged.json()["error"]
    assert Client().post("/brokers/zerodha/postback/", "nope", content_type="application/json").status_code == 400
    good = kite_checksum(order_id="1", order_timestamp="2026-11-23 10:00:00", api_secret="fake_api_secret")
    accepted = Client().post(
        "/brokers/zerodha/postback/", json.dumps({**body, "checksum": good}), content_type="application/json"
    )
    assert accepted.status_code in (200, 202)


def test_the_algo_id_is_set_through_the_api_and_refused_when_malformed(api, user):
    BrokerAccountFactory(owner=user, broker="PAPER", client_id="ZERODHA7")
    ok = api.patch("/api/v1/broker-accounts/ZERODHA7/", {"algo_id": "ALGO-42"}, format="json")
    assert ok.status_code == 200 and ok.json()["algo_id"] == "ALGO-42"
    assert BrokerAccount.objects.get(client_id="ZERODHA7").algo_id == "ALGO-42"
    bad = api.patch("/api/v1/broker-accounts/ZERODHA7/", {"algo_id": "no spaces!"}, format="json")
    assert bad.status_code == 400 and "algo_id" in bad.json()


def test_the_admin_edits_the_algo_id_and_refuses_a_malformed_one(admin_client):
    from tests.test_admin import admin_url, broker_account_form_data

    account = BrokerAccountFactory(broker="ZERODHA", client_id="ZERODHA8")
    url = admin_url(BrokerAccount, "change", account.pk)
    bad = admin_client.post(url, broker_account_form_data(account, algo_id="has space"))
    assert bad.status_code == 200 and "Use letters, digits" in bad.content.decode()
    good = admin_client.post(url, broker_account_form_data(account, algo_id="ALGO-9"))
    assert good.status_code == 302
    assert BrokerAccount.objects.get(pk=account.pk).algo_id == "ALGO-9"
