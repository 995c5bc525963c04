from brokers.models import BrokerAccount


def test_paper_account_needs_no_credentials(api):
    response = api.post("/api/v1/broker-accounts/", {"client_id": "ZERODHA123", "broker": "PAPER"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["has_credentials"] is False


def test_credentials_are_write_only_and_encrypted_at_rest(api):
    secret = {"api_key": "kite-key-1", "api_secret": "very-secret-value"}
    response = api.post(
        "/api/v1/broker-accounts/", {"client_id": "AB1234", "broker": "ZERODHA", "credentials": secret}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert "credentials" not in response.json()
    assert "very-secret-value" not in response.content.decode()
    account = BrokerAccount.objects.get(client_id="AB1234")
    assert "very-secret-value" not in account.credentials_encrypted
    assert account.credentials == secret
    assert "very-secret-value" not in api.get("/api/v1/broker-accounts/AB1234/").content.decode()


def test_live_account_missing_a_credential_is_400_naming_it(api):
    body = {"client_id": "A123", "broker": "ANGELONE", "credentials": {"api_key": "k", "client_code": "A123"}}
    response = api.post("/api/v1/broker-accounts/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()["credentials"]) == {"pin", "totp_secret"}


def test_live_account_without_credentials_is_400(api):
    response = api.post("/api/v1/broker-accounts/", {"client_id": "A123", "broker": "ZERODHA"}, format="json")
    assert response.status_code == 400
    assert "credentials" in response.json()


def test_duplicate_client_id_is_400_on_client_id(api):
    api.post("/api/v1/broker-accounts/", {"client_id": "ZERODHA123"}, format="json")
    response = api.post("/api/v1/broker-accounts/", {"client_id": "ZERODHA123"}, format="json")
    assert response.status_code == 400
    assert "client_id" in response.json()


def test_two_users_may_use_the_same_client_id(api, other_api):
    assert api.post("/api/v1/broker-accounts/", {"client_id": "ZERODHA123"}, format="json").status_code == 201
    assert other_api.post("/api/v1/broker-accounts/", {"client_id": "ZERODHA123"}, format="json").status_code == 201


def test_client_id_with_spaces_is_400(api):
    response = api.post("/api/v1/broker-accounts/", {"client_id": "ZERO DHA"}, format="json")
    assert response.status_code == 400
    assert "client_id" in response.json()


def test_client_id_cannot_change(api):
    api.post("/api/v1/broker-accounts/", {"client_id": "ZERODHA123"}, format="json")
    response = api.patch("/api/v1/broker-accounts/ZERODHA123/", {"client_id": "OTHER"}, format="json")
    assert response.status_code == 400
    assert "client_id" in response.json()


def test_session_check_on_a_paper_account_is_ok_and_recorded(api):
    api.post("/api/v1/broker-accounts/", {"client_id": "ZERODHA123"}, format="json")
    response = api.post("/api/v1/broker-accounts/ZERODHA123/check/")
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert BrokerAccount.objects.get(client_id="ZERODHA123").last_ok_at is not None


def test_deleting_an_allocated_account_is_409(api, condor_id):
    from allocations.models import Allocation
    from strategies.models import Strategy

    api.post("/api/v1/broker-accounts/", {"client_id": "ZERODHA123"}, format="json")
    Allocation.objects.create(
        strategy=Strategy.objects.get(pk=condor_id),
        broker_account=BrokerAccount.objects.get(client_id="ZERODHA123"),
        strategy_lots_multiplier=1,
    )
    response = api.delete("/api/v1/broker-accounts/ZERODHA123/")
    assert response.status_code == 409
    assert BrokerAccount.objects.filter(client_id="ZERODHA123").exists()


def test_a_zerodha_account_is_created_with_its_sebi_algo_id(api):
    secret = {"api_key": "kite-key-1", "api_secret": "very-secret-value"}
    body = {"client_id": "AB1234", "broker": "ZERODHA", "credentials": secret, "algo_id": "ALGO12345"}
    response = api.post("/api/v1/broker-accounts/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["algo_id"] == "ALGO12345"
    assert BrokerAccount.objects.get(client_id="AB1234").algo_id == "ALGO12345"
