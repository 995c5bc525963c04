"""The minute tick: materialize exactly once, enqueue ids only, skip weekends and holidays."""

import datetime as dt
import json

import pytest
import time_machine
from kombu.utils.json import dumps

from execution.models import Execution
from execution.services import schedule
from execution.tasks import run_batch
from market.models import Holiday

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


def enqueue(now, sent, capture):
    with capture(execute=True):
        return schedule.executions_enqueue(now=now, send=lambda batch, eta: sent.append((batch, eta)))


def test_enqueue_sends_each_execution_once_with_eta_at_its_due_instant(condor, django_capture_on_commit_callbacks):
    schedule.executions_materialize(now=at(9, 28))
    sent = []
    enqueue(at(9, 28), sent, django_capture_on_commit_callbacks)
    enqueue(at(9, 29), sent, django_capture_on_commit_callbacks)
    execution = Execution.objects.get()
    assert sent == [(execution.batch, at(9, 30))]


def test_a_lost_message_is_sent_again_and_then_counts_as_late(condor, django_capture_on_commit_callbacks):
    schedule.executions_materialize(now=at(9, 28))
    enqueue(at(9, 28), [], django_capture_on_commit_callbacks)
    first = Execution.objects.get().batch
    sent = []
    enqueue(at(9, 30) + dt.timedelta(seconds=20), sent, django_capture_on_commit_callbacks)
    execution = Execution.objects.get()
    assert sent == [(execution.batch, at(9, 30))] and execution.batch != first


def test_executions_due_together_go_in_batches_that_grow_and_each_execution_in_one(
    trader, django_capture_on_commit_callbacks, settings
):
    from allocations.models import Allocation
    from tests.factories import BrokerAccountFactory, iron_condor

    settings.EXECUTION_BATCH_SIZE = 4
    account = BrokerAccountFactory(owner=trader)
    for _ in range(12):
        Allocation.objects.create(
            strategy=iron_condor(owner=trader), broker_account=account, strategy_lots_multiplier=1
        )
    assert schedule.executions_materialize(now=at(9, 28)) == 12
    sent = []
    assert enqueue(at(9, 28), sent, django_capture_on_commit_callbacks) == 12
    sizes = [Execution.objects.filter(batch=batch).count() for batch, _ in sent]
    assert sizes == [1, 2, 4, 4, 1]
    later = at(9, 30) + dt.timedelta(milliseconds=settings.EXECUTION_BATCH_STAGGER_MS)
    assert [eta for _, eta in sent] == [at(9, 30)] + [later] * 4  # the first batch alone on the instant
    assert Execution.objects.filter(batch__isnull=True).count() == 0


@pytest.mark.parametrize(
    "count, largest, sizes",
    [
        (0, 50, []),
        (1, 50, [1]),
        (3, 50, [1, 2]),
        (100, 50, [1, 2, 4, 8, 16, 32, 37]),
        (130, 50, [1, 2, 4, 8, 16, 32, 50, 17]),
    ],
)
def test_batch_sizes(count, largest, sizes):
    assert schedule.batch_sizes(count, largest) == sizes
    assert sum(sizes) == count


def test_the_message_carries_the_batch_id_only_and_is_under_300_bytes(condor, django_capture_on_commit_callbacks):
    schedule.executions_materialize(now=at(9, 28))
    sent = []
    enqueue(at(9, 28), sent, django_capture_on_commit_callbacks)
    ((batch, eta),) = sent
    message = run_batch.s(str(batch)).set(eta=eta.isoformat())
    body = dumps({"args": message.args, "kwargs": message.kwargs, "task": message.task, "eta": message.options["eta"]})
    assert len(body.encode()) <= 300, body
    assert json.loads(body)["args"] == [str(Execution.objects.get().batch)]


def test_the_beat_holds_a_handful_of_rows_whatever_the_strategy_count(condor, trader):
    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    from tests.factories import iron_condor

    for _ in range(5):
        iron_condor(owner=trader)
    call_command("install_schedule")
    call_command("install_schedule")
    names = set(PeriodicTask.objects.values_list("task", flat=True))
    assert names == {
        "execution.tasks.tick",
        "execution.tasks.housekeeping",
        "execution.tasks.calendar_readiness",
        "analytics.tasks.marks_nightly",
        "analytics.tasks.intraday_marks",
        "brokers.tasks.sessions_login",
    }
    assert PeriodicTask.objects.count() == 6


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
    assert execution.enqueued_at == at(9, 28) and execution.batch is not None


@pytest.mark.django_db(transaction=True)  # the accounts are placed from threads with their own connections
def test_the_batch_task_runs_every_execution_of_its_batch(condor, django_capture_on_commit_callbacks):
    """The worker's side of a tick message: the batch id is all it gets."""
    from execution import tasks
    from execution.models import Order

    from .conftest import make_chain

    make_chain(now=at(9, 30))
    schedule.executions_materialize(now=at(9, 28))
    sent = []
    enqueue(at(9, 28), sent, django_capture_on_commit_callbacks)
    with time_machine.travel(at(9, 30), tick=False):
        tasks.run_batch(str(sent[0][0]))
        tasks.run_batch(str(sent[0][0]))  # a redelivery does nothing
    execution = Execution.objects.get()
    assert execution.status == Execution.Status.COMPLETED, execution.execution_results
    assert Order.objects.filter(execution=execution).count() == 8


def test_cancel_cancels_only_the_scheduled_executions_and_returns_them(condor, frozen):
    schedule.executions_materialize(now=at(9, 28))
    scheduled = Execution.objects.get()
    running = Execution.objects.create(
        strategy=condor,
        execution_type="EXIT",
        execution_date=scheduled.execution_date,
        execution_time=dt.time(15, 20),
        due_at=at(15, 20),
        status=Execution.Status.IN_PROGRESS,
    )

    cancelled = schedule.execution_cancel(execution_ids=[scheduled.pk, running.pk])

    assert [(e.pk, e.strategy.pk) for e in cancelled] == [(scheduled.pk, condor.pk)]
    statuses = dict(Execution.objects.values_list("pk", "status"))
    assert statuses == {scheduled.pk: Execution.Status.CANCELLED, running.pk: Execution.Status.IN_PROGRESS}
    # a cancelled execution is not enqueued
    assert schedule.executions_enqueue(now=at(9, 29), send=lambda *args, **kwargs: None) == 0


def test_a_manual_run_is_sent_to_the_queue_once_committed_and_a_second_one_is_refused(
    condor, frozen, django_capture_on_commit_callbacks
):
    from config.exceptions import ConflictError

    sent = []
    with django_capture_on_commit_callbacks(execute=True):
        execution = schedule.execution_manual_create(
            strategy=condor, execution_type="ENTRY", force=False, now=at(10, 0), send=sent.append
        )
    assert sent == [execution.pk]
    assert (execution.trigger, execution.status) == (Execution.Trigger.MANUAL, Execution.Status.SCHEDULED)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ConflictError):
        schedule.execution_manual_create(
            strategy=condor, execution_type="ENTRY", force=False, now=at(10, 5), send=sent.append
        )
    assert sent == [execution.pk] and Execution.objects.count() == 1
