import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def clear_throttles():
    cache.clear()
    yield
    cache.clear()


def obtain(client, username, password):
    return client.post("/api/v1/auth/token/", {"username": username, "password": password}, format="json")


def test_token_pair_gives_access_to_the_api(db):
    UserFactory(username="bob")
    client = APIClient()
    tokens = obtain(client, "bob", "pass-word-123").json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.get("/api/v1/options/baskets/").status_code == 200


def test_refresh_rotates_and_the_old_refresh_token_is_blacklisted(db):
    UserFactory(username="bob")
    client = APIClient()
    refresh = obtain(client, "bob", "pass-word-123").json()["refresh"]
    rotated = client.post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json")
    assert rotated.status_code == 200
    assert rotated.json()["refresh"] != refresh
    reused = client.post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json")
    assert reused.status_code == 401


def test_wrong_password_is_401(db):
    UserFactory(username="bob")
    assert obtain(APIClient(), "bob", "nope").status_code == 401


def test_repeated_failed_logins_lock_the_user_out_even_with_the_right_password(db, settings):
    UserFactory(username="bob")
    client = APIClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        obtain(client, "bob", "wrong")
    response = obtain(client, "bob", "pass-word-123")
    assert response.status_code in (401, 403, 429)
    assert "access" not in response.json()


def test_garbage_bearer_token_is_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    assert client.get("/api/v1/options/baskets/").status_code == 401
