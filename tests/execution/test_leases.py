"""Leases, claims and broker deadlines on PostgreSQL: a worker whose broker call stalls, or which stalls
itself past its lease, still places each order exactly once, and no adapter failure leaves an order SENT or
PENDING."""

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from brokers.adapters import paper
from brokers.models import PaperOrder
from execution.models import Execution, Fill, Order
from execution.services import placement
from execution.services.lifecycle import orders_work
from execution.services.orders import TERMINAL
from execution.services.placement import execution_run
from execution.services.reconciliation import orders_reconcile

from .conftest import MONDAY_0930, make_chain, new_execution

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locking"),
]


def assert_each_order_placed_once_and_booked_once(execution):
    tags = set(Order.objects.filter(execution=execution).values_list("tag", flat=True))
    at_broker = list(PaperOrder.objects.values_list("tag", flat=True))
    assert len(set(at_broker)) == len(at_broker), "an order was placed twice"
    assert set(at_broker) <= tags
    broker_fills = sum(len(o.fills) for o in PaperOrder.objects.all())
    assert Fill.objects.filter(order__execution=execution).count() == broker_fills
    for order in Order.objects.filter(execution=execution):
        placed = PaperOrder.objects.filter(tag=order.tag).first()
        if placed is not None:  # what the broker holds is what the books say
            assert (order.status, order.filled_quantity) == (placed.status, placed.filled_quantity), order.tag


def wait_for(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


@pytest.fixture
def short_timings(settings):
    settings.EXECUTION_LEASE_SECONDS = 2
    settings.BROKER_CALL_TIMEOUT_SECONDS = 0.5
    settings.ORDER_SENT_GRACE_SECONDS = 1
    settings.QUOTE_STALE_SECONDS = 3600
    return settings


def test_a_broker_call_stalled_past_the_lease_gives_up_in_time_and_each_order_is_placed_once(
    short_timings, condor, monkeypatch
):
    make_chain()
    execution = new_execution(condor)
    release, calls = threading.Event(), []
    original = paper.PaperBroker.place_orders

    def stalled_first_call(self, requests):
        calls.append(self.account.client_id)
        if len(calls) == 1:
            release.wait(30)  # the broker hangs, past the worker's lease, then takes the orders
        return original(self, requests)

    monkeypatch.setattr(paper.PaperBroker, "place_orders", stalled_first_call)
    with time_machine.travel(MONDAY_0930, tick=True):
        started = time.monotonic()
        ran = execution_run(execution_id=execution.pk)
        # The worker gave up on the call after the broker deadline, long before its lease ran out.
        assert time.monotonic() - started < 2
        assert ran.status == Execution.Status.WORKING  # the order lifecycle settles it once the outcome is known
        stalled = list(Order.objects.filter(execution=execution, status=Order.Status.UNKNOWN))
        assert stalled and all(o.broker_account.client_id == calls[0] for o in stalled)
        assert not Order.objects.filter(execution=execution, status="SENT").exists()
        # Only the shorts whose hedge's outcome is unknown wait, unsent.
        waiting = Order.objects.filter(execution=execution, status="PENDING")
        assert all(o.side == "SELL" and o.broker_account.client_id == calls[0] for o in waiting)

        time.sleep(2.2)  # past the lease: another delivery finds the execution finished and sends nothing
        assert execution_run(execution_id=execution.pk) is None
        release.set()  # the stalled call finally reaches the broker
        wait_for(lambda: PaperOrder.objects.filter(tag__in=[o.tag for o in stalled]).count() == len(stalled))

        assert orders_reconcile(now=timezone.now()) == len(stalled)
        orders_work()  # the hedges are known FILLED: their shorts go, once
    assert not Order.objects.filter(execution=execution, status=Order.Status.UNKNOWN).exists()
    assert set(Order.objects.filter(execution=execution).values_list("status", flat=True)) <= TERMINAL
    assert_each_order_placed_once_and_booked_once(execution)


def _stopped(pid) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"


@pytest.mark.slow
def test_a_worker_stalled_inside_a_broker_call_past_its_lease_places_each_order_once(frozen, condor):
    make_chain()
    execution = new_execution(condor)
    settings_dict = connection.settings_dict
    url = f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
    script = Path(__file__).with_name("stalled_worker.py")
    worker = subprocess.Popen(
        [sys.executable, str(script), str(execution.pk), MONDAY_0930.isoformat()],
        env={**os.environ, "DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: worker.poll() is not None or _stopped(worker.pid), timeout=60)
        assert worker.poll() is None, worker.communicate()[1].decode()[-3000:]
        first_call = list(PaperOrder.objects.values_list("tag", flat=True))
        assert first_call  # the broker has the stalled call's orders; the worker has not heard back
        assert set(Order.objects.filter(tag__in=first_call).values_list("status", flat=True)) == {"SENT"}

        # While the stalled worker's lease holds, a redelivery does nothing.
        assert execution_run(execution_id=execution.pk) is None
        # Its lease gone but the orders sent less than the grace ago: left alone, nothing sent.
        Execution.objects.filter(pk=execution.pk).update(lease_expires_at=MONDAY_0930 - dt.timedelta(seconds=1))
        assert execution_run(execution_id=execution.pk) is None
        assert PaperOrder.objects.count() == len(first_call)
        # After the lease: the resume asks the broker by tag, books what it has, and places the rest.
        frozen.move_to(MONDAY_0930 + dt.timedelta(seconds=31))
        resumed = execution_run(execution_id=execution.pk)
        assert resumed.status == Execution.Status.COMPLETED, resumed.execution_results
    finally:
        if worker.poll() is None:
            os.kill(worker.pid, signal.SIGCONT)  # the stalled worker wakes up and carries on
        out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err.decode()[-2000:]
    assert b"finished nothing" in out  # it lost its claim: it finished nothing and overwrote nothing
    execution.refresh_from_db()
    assert execution.status == Execution.Status.COMPLETED
    assert execution.attempts == 3
    assert Order.objects.filter(execution=execution, status="FILLED").count() == 8
    assert_each_order_placed_once_and_booked_once(execution)


def _raise_before_placing(self, requests):
    raise RuntimeError("adapter bug before the orders went out")


def _raise_after_placing(self, requests):
    ORIGINAL_PLACE(self, requests)
    raise ValueError("adapter bug after the broker took the orders")


def _answer_too_few(self, requests):
    return ORIGINAL_PLACE(self, requests)[:1]


ORIGINAL_PLACE = paper.PaperBroker.place_orders


@pytest.mark.parametrize("failure", [_raise_before_placing, _raise_after_placing, _answer_too_few])
def test_any_adapter_exception_ends_every_order_terminal_or_unknown_then_reconciled(
    frozen, condor, monkeypatch, failure
):
    make_chain()
    execution = new_execution(condor)
    monkeypatch.setattr(paper.PaperBroker, "place_orders", failure)
    ran = execution_run(execution_id=execution.pk)
    assert ran.status == Execution.Status.WORKING  # settled by the order lifecycle once reconciled
    statuses = set(Order.objects.filter(execution=execution).values_list("status", flat=True))
    assert statuses <= TERMINAL | {"UNKNOWN", "PENDING"}, statuses  # PENDING: shorts waiting for their hedge
    assert "UNKNOWN" in statuses
    monkeypatch.undo()

    later = MONDAY_0930 + dt.timedelta(minutes=2)
    orders_reconcile(now=later)
    with time_machine.travel(later, tick=False):
        orders_work(now=later)
        orders_work(now=later)
    assert set(Order.objects.filter(execution=execution).values_list("status", flat=True)) <= TERMINAL
    ran.refresh_from_db()
    assert ran.status in (Execution.Status.COMPLETED, Execution.Status.PARTIAL, Execution.Status.FAILED)
    assert_each_order_placed_once_and_booked_once(execution)


def test_an_account_whose_adapter_cannot_be_built_ends_its_orders_not_sent_and_the_other_trades(
    frozen, condor, monkeypatch
):
    make_chain()
    execution = new_execution(condor)
    build = placement.adapter_for

    def adapter_for(account):
        if account.client_id == "ANGELONE456":
            raise RuntimeError("adapter failed to start")
        return build(account)

    monkeypatch.setattr(placement, "adapter_for", adapter_for)
    ran = execution_run(execution_id=execution.pk)
    assert ran.status == Execution.Status.PARTIAL
    assert "adapter failed to start" in ran.error
    angel = Order.objects.filter(execution=execution, broker_account__client_id="ANGELONE456")
    assert set(angel.values_list("status", flat=True)) == {"CANCELLED"}
    assert all("not sent: RuntimeError: adapter failed to start" in o.error for o in angel)
    zerodha = Order.objects.filter(execution=execution, broker_account__client_id="ZERODHA123")
    assert set(zerodha.values_list("status", flat=True)) == {"FILLED"}


def test_a_lookup_that_raises_on_one_account_does_not_stop_reconciling_the_other(frozen, condor, monkeypatch):
    make_chain()
    execution = new_execution(condor)
    monkeypatch.setattr(paper.PaperBroker, "place_orders", _raise_after_placing)
    execution_run(execution_id=execution.pk)
    monkeypatch.undo()
    unknown = Order.objects.filter(execution=execution, status="UNKNOWN")
    zerodha = set(unknown.filter(broker_account__client_id="ZERODHA123").values_list("pk", flat=True))
    angel = set(unknown.filter(broker_account__client_id="ANGELONE456").values_list("pk", flat=True))
    assert zerodha and angel  # each account's first group went out and its answer was lost
    find = paper.PaperBroker.find_order

    def find_order(self, tag):
        if self.account.client_id == "ZERODHA123":
            raise ConnectionError("broker API down")
        return find(self, tag)

    monkeypatch.setattr(paper.PaperBroker, "find_order", find_order)
    orders_reconcile(now=MONDAY_0930 + dt.timedelta(minutes=2))
    assert {o.status for o in Order.objects.filter(pk__in=zerodha)} == {"UNKNOWN"}
    assert all(
        "reconciliation failed: ConnectionError: broker API down" in o.error
        for o in Order.objects.filter(pk__in=zerodha)
    )
    assert {o.status for o in Order.objects.filter(pk__in=angel)} == {"FILLED"}


def test_the_broker_deadline_must_be_shorter_than_the_lease_and_the_grace(settings):
    from django.core.exceptions import ImproperlyConfigured

    from execution.services.claims import broker_timeout

    settings.BROKER_CALL_TIMEOUT_SECONDS = settings.EXECUTION_LEASE_SECONDS
    with pytest.raises(ImproperlyConfigured):
        broker_timeout()
    settings.BROKER_CALL_TIMEOUT_SECONDS, settings.ORDER_SENT_GRACE_SECONDS = 10, 10
    with pytest.raises(ImproperlyConfigured):
        broker_timeout()


def test_a_worker_stalled_between_its_claim_and_the_broker_call_never_starts_the_call(
    frozen, condor, settings, monkeypatch
):
    """The send's deadline runs from the claim, not from the call: a worker that stalls after marking its
    orders SENT and before calling the broker (past the grace, when another worker may have resumed and sent
    them) does not send them late. They are UNKNOWN, and only a lookup by tag settles them."""
    settings.BROKER_CALL_TIMEOUT_SECONDS = 0.3
    settings.EXECUTION_PARALLEL_ACCOUNTS = False
    make_chain()
    condor.legs.update(order_type="MARKET")
    original, stalled = placement._request, []

    def stall_once(order, products):
        if not stalled:
            stalled.append(order.tag)
            time.sleep(0.5)  # stalled right after the claim, longer than the broker deadline
        return original(order, products)

    monkeypatch.setattr(placement, "_request", stall_once)
    execution = execution_run(execution_id=new_execution(condor).pk)

    first = Order.objects.get(tag=stalled[0])
    batch = Order.objects.filter(execution=execution, send_token=first.send_token)
    assert batch.count() >= 1 and set(batch.values_list("status", flat=True)) == {"UNKNOWN"}
    assert "did not start before its deadline" in first.error
    assert not PaperOrder.objects.filter(tag__in=batch.values_list("tag", flat=True)).exists()
    assert_each_order_placed_once_and_booked_once(execution)
