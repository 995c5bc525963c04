"""Broker account pages: add, edit, write-only credentials, session check, delete refusals."""

import re

from brokers.models import BrokerAccount
from tests.factories import AllocationFactory, BrokerAccountFactory, iron_condor


def body(response) -> str:
    return response.content.decode()


def test_adding_a_paper_account(page, user):
    response = page.post("/broker-accounts/add/", {"client_id": "PAPER001", "broker": "PAPER", "name": "Practice"})
    assert response.status_code == 302
    account = BrokerAccount.objects.get(owner=user)
    assert (account.client_id, account.broker, account.name, account.has_credentials) == (
        "PAPER001",
        "PAPER",
        "Practice",
        False,
    )
    assert "PAPER001" in body(page.get("/broker-accounts/"))


def test_a_zerodha_account_without_credentials_is_refused_with_the_apis_message(page, user):
    response = page.post("/broker-accounts/add/", {"client_id": "ZERODHA123", "broker": "ZERODHA", "name": "Main"})
    assert response.status_code == 400
    assert "ZERODHA accounts need credentials: api_key, api_secret." in body(response)
    assert 'value="ZERODHA123"' in body(response) and 'value="Main"' in body(response)


def test_credentials_are_stored_encrypted_and_never_shown(page, user):
    secret = '{"api_key": "k-123", "api_secret": "s3cr3t-value"}'
    response = page.post(
        "/broker-accounts/add/", {"client_id": "ZERODHA123", "broker": "ZERODHA", "credentials": secret}
    )
    assert response.status_code == 302
    account = BrokerAccount.objects.get(owner=user)
    assert account.credentials == {"api_key": "k-123", "api_secret": "s3cr3t-value"}
    assert "s3cr3t-value" not in account.credentials_encrypted
    html = body(page.get("/broker-accounts/ZERODHA123/edit/"))
    assert "s3cr3t-value" not in html and "k-123" not in html
    assert "Credentials are stored; leave blank to keep them." in html


def test_a_failed_submit_does_not_echo_the_credentials(page, user):
    response = page.post(
        "/broker-accounts/add/",
        {"client_id": "bad id!", "broker": "ZERODHA", "credentials": '{"api_key": "k", "api_secret": "s3cr3t-value"}'},
    )
    html = body(response)
    assert response.status_code == 400
    assert "Use letters, digits, &#x27;-&#x27; or &#x27;_&#x27; only." in html
    assert "s3cr3t-value" not in html
    assert 'value="bad id!"' in html


def test_a_missing_credential_key_is_named_on_the_credentials_field(page, user):
    response = page.post(
        "/broker-accounts/add/", {"client_id": "Z1", "broker": "ZERODHA", "credentials": '{"api_key": "k"}'}
    )
    assert response.status_code == 400
    assert re.search(r'id="hint_credentials".*?<li>api_secret: This field is required\.</li>', body(response), re.S)


def test_credentials_that_are_not_a_json_object_are_refused(page, user):
    response = page.post("/broker-accounts/add/", {"client_id": "Z1", "broker": "ZERODHA", "credentials": "{api_key"})
    assert response.status_code == 400
    assert "Enter a JSON object" in body(response)


def test_editing_keeps_credentials_when_left_blank(page, user):
    account = BrokerAccountFactory(owner=user, client_id="ZERODHA123", broker="ZERODHA")
    account.credentials = {"api_key": "k", "api_secret": "s"}
    account.save()
    response = page.post(
        "/broker-accounts/ZERODHA123/edit/", {"broker": "ZERODHA", "name": "Renamed", "credentials": ""}
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.name == "Renamed" and account.credentials == {"api_key": "k", "api_secret": "s"}


def test_the_session_check_records_the_outcome(page, user):
    account = BrokerAccountFactory(owner=user, client_id="PAPER1")
    response = page.post("/broker-accounts/PAPER1/check/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Session OK" in body(response)
    account.refresh_from_db()
    assert account.last_ok_at is not None


def test_deleting_an_allocated_account_is_refused_with_the_apis_message(page, user):
    account = BrokerAccountFactory(owner=user, client_id="ZERODHA123")
    AllocationFactory(strategy=iron_condor(owner=user), broker_account=account)
    response = page.post("/broker-accounts/ZERODHA123/delete/")
    assert response.status_code == 409
    assert "This account is allocated to strategies; remove those allocations first." in body(response)
    assert BrokerAccount.objects.filter(pk=account.pk).exists()


def test_deleting_an_unused_account(page, user):
    BrokerAccountFactory(owner=user, client_id="SPARE")
    assert page.post("/broker-accounts/SPARE/delete/").status_code == 302
    assert not BrokerAccount.objects.filter(owner=user).exists()
