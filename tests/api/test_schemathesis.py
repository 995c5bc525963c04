"""Property-based API fuzzing from the OpenAPI schema with every schemathesis check: no input gives a 5xx, no
answer breaks the schema, valid requests are accepted and invalid ones rejected.

The number of examples per operation is bounded so the suite stays fast (SCHEMATHESIS_MAX_EXAMPLES)."""

import os
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from config.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "15"))


@pytest.fixture
def keep_test_connection():
    """Calling the WSGI app directly would close the test's DB connection at request end (the test client
    avoids this the same way)."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def existing(user, basket_id, condor_id):
    return {"user": user, "basket_id": basket_id, "strategy_id": condor_id}


def make_positive_case_valid(case, existing):
    """A schema-valid request can still name things the schema cannot know (a basket that exists, a client_id not
    yet taken, a live refresh token) or break a rule comparing two fields (an intraday strategy exits after it
    enters, on its entry days). Positive cases get those filled in, so positive_data_acceptance tests the rest;
    negative cases are sent as generated."""
    from rest_framework_simplejwt.tokens import RefreshToken
    from schemathesis import GenerationMode

    body = case.body
    if case.meta is None or case.meta.generation.mode != GenerationMode.POSITIVE or not isinstance(body, dict):
        return
    path = case.operation.path
    if "basket_id" in body and body["basket_id"] is not None:
        body["basket_id"] = str(existing["basket_id"])
    if "strategy_id" in body:
        body["strategy_id"] = str(existing["strategy_id"])
    if path.endswith("/broker-accounts/") and "client_id" in body:
        body["client_id"] = f"FZ{uuid.uuid4().hex[:10].upper()}"
    if "/broker-accounts/" in path and "broker" in body:  # each broker's credential keys: prose in the schema
        body["broker"] = "PAPER"
        body.pop("credentials", None)
    if path.endswith("/auth/logout/"):
        body["refresh"] = str(RefreshToken.for_user(existing["user"]))
    if body.get("product") == "MIS" or body.get("is_intra_day") is True:
        if body.get("entry_days") is not None:
            body["exit_days"] = body["entry_days"]
        if body.get("entry_time") and body.get("exit_time") and body["exit_time"] <= body["entry_time"]:
            body["entry_time"], body["exit_time"] = "09:30", "15:00"


@pytest.fixture
def bearer(user, condor_id, keep_test_connection):
    """A user with a basket, a strategy with four legs, and a broker account to aim at."""
    from rest_framework_simplejwt.tokens import RefreshToken

    from tests.factories import BrokerAccountFactory

    BrokerAccountFactory(owner=user, client_id="ZERODHA123")
    return {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}


@pytest.mark.slow
@schema.exclude(path_regex=r"/auth/token").parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_never_answers_5xx_and_always_matches_its_schema(case, bearer, existing):
    make_positive_case_valid(case, existing)
    # No `checks=`: every built-in check runs (the `--checks all` of the CLI): no 5xx, documented status codes,
    # content types, headers and bodies, valid data accepted, invalid data rejected, auth enforced.
    case.call_and_validate(headers=bearer)
