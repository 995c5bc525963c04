"""Property-based API fuzzing from the OpenAPI schema with every schemathesis check: no input gives a 5xx, no
answer breaks the schema, valid requests are accepted and invalid ones rejected.

The number of examples per operation is bounded so the suite stays fast (SCHEMATHESIS_MAX_EXAMPLES)."""

import os

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
def test_api_never_answers_5xx_and_always_matches_its_schema(case, bearer):
    # No `checks=`: every built-in check runs (the `--checks all` of the CLI): no 5xx, documented status codes,
    # content types, headers and bodies, valid data accepted, invalid data rejected, auth enforced.
    case.call_and_validate(headers=bearer)
