import pytest
from rest_framework.test import APIClient

from tests.api import seed001
from tests.execution.conftest import condor, frozen, trader  # noqa: F401  (shared with tests/web)
from tests.factories import UserFactory


@pytest.fixture
def user(db):
    return UserFactory(username="alice")


@pytest.fixture
def other_user(db):
    return UserFactory(username="mallory")


@pytest.fixture
def api(user):
    """An API client authenticated as `user` with a real JWT bearer token."""
    from rest_framework_simplejwt.tokens import RefreshToken

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def other_api(other_user):
    from rest_framework_simplejwt.tokens import RefreshToken

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(other_user).access_token}")
    return client


@pytest.fixture
def basket_id(api):
    return api.post("/api/v1/options/baskets/", seed001.BASKET, format="json").json()["basket_id"]


@pytest.fixture
def strategy_id(api, basket_id):
    response = api.post(f"/api/v1/options/baskets/{basket_id}/strategies/", seed001.STRATEGY, format="json")
    return response.json()["strategy_id"]


@pytest.fixture
def condor_id(api, strategy_id):
    assert api.post(f"/api/v1/options/strategies/{strategy_id}/legs/", seed001.LEGS, format="json").status_code == 201
    return strategy_id


@pytest.fixture
def eager_celery():
    """No worker in the test: run_execution runs inline, right after the request's transaction commits."""
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False
