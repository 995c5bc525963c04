"""The orders that wait for nothing (BUYs, unguarded SELLs) are written already claimed, SENT with a send
token and their SENT event, in the intents' transaction; an account reached late (accounts placed one after
another) stamps a new claim before its call, so the broker deadline never runs from an aged claim; an intent
already stored leaves the batch's new intents plain."""

import datetime as dt
import time

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from brokers.adapters import paper
from execution.models import Execution, Order, OrderEvent
from execution.services import placement
from execution.services.claims import executions_claim
from execution.services.lifecycle import orders_work
from execution.services.orders import TERMINAL
from execution.services.placement import execution_run
from execution.services.reconciliation import orders_reconcile

from .conftest import MONDAY_0930, make_chain, new_execution
from .test_leases import assert_each_order_placed_once_and_booked_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locking"),
]


def test_the_first_orders_go_in_claimed_with_their_intents(frozen, condor, settings):
    settings.EXECUTION_PARALLEL_ACCOUNTS = False  # every query on this connection, to be counted
    make_chain()
    condor.legs.update(order_type="MARKET")
    with CaptureQueriesContext(connection) as ctx:
        ran = execution_run(execution_id=new_execution(condor).pk)
    assert ran.status == Execution.Status.COMPLETED
    claims = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('UPDATE "execution_order" SET "status"')]
    # one claim per account, for its SELLs (sent once their hedges filled); the BUYs were claimed with the intents
    assert len(claims) == 2, claims
    for order in Order.objects.filter(execution=ran):
        events = list(order.events.order_by("id").values_list("from_status", "to_status", "source"))
        assert events == [("PENDING", "SENT", "placement"), ("SENT", "FILLED", "placement")], (order.tag, events)
        assert order.send_token is not None
    buys = Order.objects.filter(execution=ran, side="BUY")
    assert buys.values("send_token").distinct().count() == 2  # one token per account
    assert_each_order_placed_once_and_booked_once(ran)


def test_an_account_reached_late_claims_again_and_is_not_timed_out(frozen, condor, settings, monkeypatch):
    """Accounts one after another: the first one's broker stalls past the deadline. The second account is
    reached after that deadline; its orders, written claimed, get a fresh claim and trade, instead of being
    refused for a deadline that ran out while it waited."""
    settings.EXECUTION_PARALLEL_ACCOUNTS = False
    settings.BROKER_CALL_TIMEOUT_SECONDS = 0.4
    make_chain()
    condor.legs.update(order_type="MARKET")
    original, calls = paper.PaperBroker.place_orders, []

    def place_orders(self, requests):
        calls.append(self.account.client_id)
        if len(calls) == 1:
            time.sleep(0.6)  # past the deadline: this call's orders are UNKNOWN
        return original(self, requests)

    monkeypatch.setattr(paper.PaperBroker, "place_orders", place_orders)
    ran = execution_run(execution_id=new_execution(condor).pk)
    stalled, other = calls[0], next(c for c in calls if c != calls[0])
    stalled_buys = Order.objects.filter(execution=ran, broker_account__client_id=stalled, side="BUY")
    assert set(stalled_buys.values_list("status", flat=True)) == {"UNKNOWN"}
    late = Order.objects.filter(execution=ran, broker_account__client_id=other)
    assert set(late.values_list("status", flat=True)) == {"FILLED"}, list(late.values_list("status", "error"))
    time.sleep(0.3)  # the stalled call lands at the broker in the end; reconciliation books it, once
    monkeypatch.undo()
    later = MONDAY_0930 + dt.timedelta(minutes=2)
    orders_reconcile(now=later)
    with time_machine.travel(later, tick=False):
        orders_work(now=later)
    assert set(Order.objects.filter(execution=ran).values_list("status", flat=True)) <= TERMINAL
    assert_each_order_placed_once_and_booked_once(ran)


def test_intents_already_stored_leave_the_new_ones_plain_and_unclaimed(frozen, condor):
    make_chain()
    execution = new_execution(condor)
    [claimed] = executions_claim([execution.pk], now=MONDAY_0930)
    plan = placement._plans([claimed], MONDAY_0930)[claimed.pk]
    placement._related(plan.orders, {}, {})
    first = plan.orders[0]
    Order.objects.create(  # a row with the tag of one intent is there already
        execution=claimed,
        strategy_id=first.strategy_id,
        broker_account_id=first.broker_account_id,
        leg_id=first.leg_id,
        leg_no=first.leg_no,
        instrument_id=first.instrument_id,
        side=first.side,
        lots=first.lots,
        quantity=first.quantity,
        tag=first.tag,
    )
    written, lost = placement._write_intents([(claimed, plan)])
    assert written is None and lost == set()
    stored = Order.objects.filter(execution=claimed)
    assert stored.count() == len(plan.orders)
    assert set(stored.values_list("status", flat=True)) == {"PENDING"}
    assert not stored.exclude(send_token=None).exists()
    assert not OrderEvent.objects.filter(order__execution=claimed).exists()
    assert not any(getattr(o, "presend", False) for o in plan.orders)
