"""strategies_status_change: the admin's pause and activate actions."""

import datetime as dt

import pytest

from strategies.models import Strategy
from strategies.services import strategies_status_change
from tests.factories import StrategyFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _pinned(pinned_clock):
    yield


def test_pausing_moves_only_active_strategies_and_stamps_them():
    active, archived, paused = (StrategyFactory(status=s) for s in ("ACTIVE", "ARCHIVED", "PAUSED"))

    changed = strategies_status_change(
        strategy_ids=[active.pk, archived.pk, paused.pk], from_status="ACTIVE", to_status="PAUSED", now=NOW
    )

    assert changed == 1
    rows = dict(Strategy.objects.values_list("pk", "status"))
    assert rows == {active.pk: "PAUSED", archived.pk: "ARCHIVED", paused.pk: "PAUSED"}
    assert Strategy.objects.get(pk=active.pk).updated_at == NOW
