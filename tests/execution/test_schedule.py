"""The minute tick: materialize exactly once, enqueue ids only, skip weekends and holidays."""

import datetime as dt
import json

import pytest
import time_machine
from kombu.utils.json import dumps

from execution.models import Execution, Holiday
from execution.services import schedule
from execution.tasks import run_execution

from .conftest import MONDAY_0930

pytestmark = pytest.mark.django_db


def at(hour, minute, day=None):
    """A UTC instant from an IST wall-clock time on `day` (default: the Monday of the fixtures)."""
    day = day or MONDAY_0930.date()
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC) - dt.timedelta(hours=5, minutes=30)


def test_tick_materializes_entries_due_in_the_next_minutes(condor):
    assert schedule.executions_materialize(now=at(9, 28)) == 1
    execution = Execution.objects.get()
    assert (execution.execution_type, execution.execution_date, execution.due_at) == (
        "ENTRY",
        dt.date(2026, 11, 23),
        at(9, 30),
    )


def test_materializing_twice_creates_one_row(condor):
    schedule.executions_materialize(now=at(9, 28))
    schedule.executions_materialize(now=at(9, 29))
    assert Execution.objects.count() == 1


def test_nothing_is_due_outside_the_window(condor):
    assert schedule.executions_materialize(now=at(9, 20)) == 0
    assert schedule.executions_materialize(now=at(9, 31)) == 0


def test_nothing_runs_on_an_exchange_holiday(condor):
    Holiday.objects.create(exchange="NSE", date=dt.date(2026, 11, 23), description="test holiday")
    assert schedule.executions_materialize(now=at(9, 28)) == 0


def test_nothing_runs_on_a_weekday_not_in_entry_days(condor):
    tuesday = dt.date(2026, 11, 24)
    assert schedule.executions_materialize(now=at(9, 28, tuesday)) == 0


def test_exit_days_are_separate_from_entry_days(condor):
    friday = dt.date(2026, 11, 27)
    assert schedule.executions_materialize(now=at(15, 18, friday)) == 1
    assert Execution.objects.get().execution_type == "EXIT"


def test_paused_strategies_and_strategies_without_allocations_are_not_materialized(condor, trader):
    from tests.factories import iron_condor

    iron_condor(owner=trader)  # no allocations
    condor.status = "PAUSED"
    condor.save()
    assert schedule.executions_materialize(now=at(9, 28)) == 0


def test_enqueue_sends_each_execution_once_with_eta_at_its_due_instant(condor, django_capture_on_commit_callbacks):
    schedule.executions_materialize(now=at(9, 28))
    sent = []
    with django_capture_on_commit_callbacks(execute=True):
        schedule.executions_enqueue(now=at(9, 28), send=lambda pk, eta: sent.append((pk, eta)))
    with django_capture_on_commit_callbacks(execute=True):
        schedule.executions_enqueue(now=at(9, 29), send=lambda pk, eta: sent.append((pk, eta)))
    assert sent == [(Execution.objects.get().pk, at(9, 30))]


def test_a_lost_message_is_sent_again_and_then_counts_as_late(condor, django_capture_on_commit_callbacks):
    schedule.executions_materialize(now=at(9, 28))
    with django_capture_on_commit_callbacks(execute=True):
        schedule.executions_enqueue(now=at(9, 28), send=lambda pk, eta: None)
    sent = []
    with django_capture_on_commit_callbacks(execute=True):
        schedule.executions_enqueue(now=at(9, 30) + dt.timedelta(seconds=20), send=lambda pk, eta: sent.append(pk))
    assert sent == [Execution.objects.get().pk]


def test_the_message_carries_the_id_only_and_is_under_300_bytes(condor):
    schedule.executions_materialize(now=at(9, 28))
    execution = Execution.objects.get()
    message = run_execution.s(str(execution.pk)).set(eta=at(9, 30).isoformat())
    body = dumps({"args": message.args, "kwargs": message.kwargs, "task": message.task, "eta": message.options["eta"]})
    assert len(body.encode()) <= 300, body
    assert json.loads(body)["args"] == [str(execution.pk)]


def test_the_beat_holds_a_handful_of_rows_whatever_the_strategy_count(condor, trader):
    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    from tests.factories import iron_condor

    for _ in range(5):
        iron_condor(owner=trader)
    call_command("install_schedule")
    call_command("install_schedule")
    names = set(PeriodicTask.objects.values_list("task", flat=True))
    assert names == {"execution.tasks.tick", "execution.tasks.housekeeping"}
    assert PeriodicTask.objects.count() == 2


def test_schedule_lists_the_day_from_the_calendar_without_execution_rows(api, user):
    from tests.factories import AllocationFactory, iron_condor

    strategy = iron_condor(owner=user)
    AllocationFactory(strategy=strategy)
    response = api.get("/api/v1/options/executions/schedule/?date=2026-11-23")
    body = response.json()
    assert response.status_code == 200
    assert [(e["execution_type"], e["execution_time"], e["status"]) for e in body["executions"]] == [
        ("ENTRY", "09:30", "PLANNED")
    ]
    assert body["is_trading_day"] == {"NSE": True, "BSE": True}


def test_schedule_marks_holidays_and_lists_nothing_on_them(api, user):
    from tests.factories import AllocationFactory, iron_condor

    AllocationFactory(strategy=iron_condor(owner=user))
    Holiday.objects.create(exchange="NSE", date=dt.date(2026, 11, 23))
    body = api.get("/api/v1/options/executions/schedule/?date=2026-11-23&type=entry").json()
    assert body["holidays"] == ["NSE"]
    assert body["executions"] == []


@pytest.mark.parametrize("query, field", [("date=23-11-2026", "date"), ("type=sideways", "type")])
def test_schedule_bad_query_is_400_naming_it(api, query, field):
    response = api.get(f"/api/v1/options/executions/schedule/?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_housekeeping_marks_executions_left_scheduled_as_missed(condor):
    from execution.models import Alert
    from execution.services import monitors

    schedule.executions_materialize(now=at(9, 28))
    with time_machine.travel(at(9, 0, dt.date(2026, 11, 24))):
        monitors.close_out_stale(now=at(9, 0, dt.date(2026, 11, 24)))
    assert Execution.objects.get().status == "MISSED"
    assert Alert.objects.filter(kind="MISSED").count() == 1


def test_a_paused_strategy_still_holding_positions_gets_its_scheduled_exit(condor):
    from brokers.models import BrokerAccount
    from execution.models import Position
    from tests.factories import OptionInstrumentFactory

    Position.objects.create(
        strategy=condor,
        broker_account=BrokerAccount.objects.get(client_id="ZERODHA123"),
        instrument=OptionInstrumentFactory(),
        net_quantity=-65,
    )
    condor.status = "PAUSED"
    condor.save()
    friday = dt.date(2026, 11, 27)
    assert schedule.executions_materialize(now=at(15, 18, friday)) == 1
    assert Execution.objects.get().execution_type == "EXIT"
    assert schedule.executions_materialize(now=at(9, 28)) == 0  # but no new entry


def test_the_tick_task_materializes_and_publishes_over_one_connection(condor):
    """The Celery task itself, against the in-memory broker of the tests."""
    from execution import tasks

    with time_machine.travel(at(9, 28), tick=False):
        tasks.tick()
    execution = Execution.objects.get()
    assert execution.enqueued_at == at(9, 28)
