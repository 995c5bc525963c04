"""Exactly once under races, on PostgreSQL: concurrent deliveries, racing ticks, a worker killed mid-run."""

import datetime as dt
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection

from brokers.models import PaperOrder
from execution.models import Execution, Order
from execution.services import schedule
from execution.services.placement import execution_run

from .conftest import MONDAY_0930, make_chain, new_execution

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locking"),
]


def in_threads(n, target):
    barrier = threading.Barrier(n)
    errors = []

    def run():
        try:
            barrier.wait()
            target()
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def assert_each_intended_order_once(execution):
    tags = list(Order.objects.filter(execution=execution).values_list("tag", flat=True))
    at_broker = list(PaperOrder.objects.values_list("tag", flat=True))
    assert sorted(at_broker) == sorted(tags)
    assert len(set(at_broker)) == len(at_broker)


def test_the_same_execution_delivered_8_times_concurrently_places_each_order_once(frozen, condor):
    make_chain()
    execution = new_execution(condor)
    in_threads(8, lambda: execution_run(execution_id=execution.pk))
    execution.refresh_from_db()
    assert execution.status == Execution.Status.COMPLETED
    assert Order.objects.filter(execution=execution).count() == 8
    assert_each_intended_order_once(execution)


def test_two_racing_ticks_materialize_and_enqueue_each_execution_once(condor):
    now = MONDAY_0930 - dt.timedelta(minutes=2)
    sent = []
    lock = threading.Lock()

    def send(batch, eta):
        with lock:
            sent.append(batch)

    def tick():
        schedule.executions_materialize(now=now)
        schedule.executions_enqueue(now=now, send=send)

    in_threads(2, tick)
    assert Execution.objects.count() == 1
    assert sent == [Execution.objects.get().batch]


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [1, 3, 5])
def test_a_worker_killed_mid_execution_is_resumed_and_every_order_exists_once(frozen, condor, kill_after):
    make_chain()
    execution = new_execution(condor)
    settings_dict = connection.settings_dict
    url = f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
    script = Path(__file__).with_name("killed_worker.py")
    env = {**os.environ, "DATABASE_URL": url}
    process = subprocess.run(
        [sys.executable, str(script), str(execution.pk), str(kill_after), MONDAY_0930.isoformat()],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert process.returncode == -9, process.stderr.decode()[-2000:]
    # accounts are placed in parallel: the other account's thread may have got one more order in
    assert kill_after <= PaperOrder.objects.count() < 8
    execution.refresh_from_db()
    assert execution.status == Execution.Status.IN_PROGRESS

    # The redelivered message arrives while the dead worker's lease still holds: nothing happens.
    assert execution_run(execution_id=execution.pk) is None
    # Its lease gone but its orders sent less than the grace ago (they may still be on their way): the resume
    # leaves them alone and sends nothing.
    at_broker = PaperOrder.objects.count()
    Execution.objects.filter(pk=execution.pk).update(lease_expires_at=MONDAY_0930 - dt.timedelta(seconds=1))
    assert execution_run(execution_id=execution.pk) is None
    assert PaperOrder.objects.count() == at_broker
    # After the lease (longer than the grace) expires, the next delivery resumes it.
    frozen.move_to(MONDAY_0930 + dt.timedelta(seconds=31))
    resumed = execution_run(execution_id=execution.pk)

    assert resumed.status == Execution.Status.COMPLETED, resumed.execution_results
    assert resumed.attempts == 3
    assert Order.objects.filter(execution=execution, status="FILLED").count() == 8
    assert_each_intended_order_once(execution)
