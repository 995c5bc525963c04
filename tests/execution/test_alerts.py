"""alerts_acknowledge: the one write behind the dashboard's, the API's and the admin's acknowledge."""

import datetime as dt

import pytest

from execution.models import Alert
from execution.services.alerts import alert_raise, alerts_acknowledge

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _pinned(pinned_clock):
    yield


def test_acknowledging_marks_only_the_open_alerts_and_keeps_an_earlier_acknowledgement(trader):
    open_ = alert_raise(kind=Alert.Kind.RECONCILIATION, message="mismatch", owner_id=trader.pk)
    earlier = alert_raise(kind=Alert.Kind.RECONCILIATION, message="old", owner_id=trader.pk)
    Alert.objects.filter(pk=earlier.pk).update(acknowledged_at=NOW - dt.timedelta(days=1))
    other = alert_raise(kind=Alert.Kind.RECONCILIATION, message="not selected", owner_id=trader.pk)

    changed = alerts_acknowledge(alerts=Alert.objects.filter(pk__in=[open_.pk, earlier.pk]), now=NOW)

    assert changed == 1
    acknowledged = dict(Alert.objects.values_list("pk", "acknowledged_at"))
    assert acknowledged == {open_.pk: NOW, earlier.pk: NOW - dt.timedelta(days=1), other.pk: None}
