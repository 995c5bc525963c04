import datetime as dt
import os

import pytest
import time_machine
from rest_framework.test import APIClient

from tests.api import seed001
from tests.execution.conftest import condor, frozen, trader  # noqa: F401  (shared with tests/web)
from tests.factories import UserFactory

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


def pytest_addoption(parser):
    parser.addoption(
        "--clock",
        default=os.environ.get("TEST_CLOCK") or None,
        help="run the whole suite with the process clock set to this instant (time_machine, ticking): "
        "YYYY-MM-DD (09:45 IST that day) or an ISO datetime (IST unless it names its offset). "
        "Also read from the TEST_CLOCK environment variable.",
    )


def parse_clock(value: str) -> dt.datetime:
    """`2027-02-16` -> 09:45 IST that day; `2027-02-16T14:00` -> 14:00 IST; an explicit offset is kept."""
    try:
        if len(value) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(9, 45), tzinfo=IST)
        moment = dt.datetime.fromisoformat(value)
    except ValueError as error:
        raise pytest.UsageError(f"--clock / TEST_CLOCK: {value!r} is not YYYY-MM-DD or an ISO datetime") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=IST)


def pytest_configure(config):
    value = config.getoption("--clock")
    if value:
        moment = parse_clock(value)
        config._clock_traveller = time_machine.travel(moment, tick=True)
        config._clock_traveller.start()
        config._clock_moment = moment


def pytest_unconfigure(config):
    traveller = getattr(config, "_clock_traveller", None)
    if traveller is not None:
        traveller.stop()


def pytest_report_header(config):
    moment = getattr(config, "_clock_moment", None)
    if moment is not None:
        return f"clock: the whole run starts at {moment.isoformat()} ({moment:%A}), ticking (--clock / TEST_CLOCK)"
    return None


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


# A Wednesday in market hours; tests whose fixtures date contracts and quotes from "now" run from this instant.
PINNED_NOW = dt.datetime(2026, 12, 2, 9, 45, tzinfo=IST)


@pytest.fixture
def pinned_clock():
    """The clock starts at PINNED_NOW and ticks: "now + 5 days" expiries and fresh quotes are the same every run."""
    with time_machine.travel(PINNED_NOW, tick=True) as traveller:
        yield traveller
