"""Executions due at the same instant run in batches: the same results as one at a time, exactly once under
overlapping deliveries, with a fixed number of queries whatever the batch size."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from allocations.models import Allocation
from brokers.adapters.base import BrokerError, OrderRequest, adapter_for
from brokers.models import PaperOrder
from execution.models import Execution, Fill, Order, Position
from execution.services.placement import execution_run, executions_run
from execution.services.plan import entries_plan
from market.models import Instrument
from strategies.models import Leg
from tests.factories import BrokerAccountFactory, LegFactory, StrategyFactory, iron_condor

from .conftest import MONDAY_0930, make_chain, new_execution

pytestmark = pytest.mark.django_db(transaction=True)


def condors(owner, n):
    """n seed 001 condors on the same two accounts, ZERODHA123 at multiplier 1 and ANGELONE456 at 2."""
    accounts = [BrokerAccountFactory(owner=owner, client_id=c) for c in ("ZERODHA123", "ANGELONE456")]
    strategies = [iron_condor(owner=owner) for _ in range(n)]
    offsets = {1: 2, 2: 10, 3: 2, 4: 10}  # shorts 2 strikes out of the money, hedges 10: four different contracts
    for leg in Leg.objects.filter(strategy__in=strategies):
        leg.entry_by = "ATM_OFFSET"
        leg.strike_selection_config = {"method": "ATM_OFFSET", "atm_offset": offsets[leg.leg_no]}
        leg.save()
    for strategy in strategies:
        for priority, account in enumerate(accounts, 1):
            Allocation.objects.create(
                strategy=strategy, broker_account=account, strategy_lots_multiplier=priority, priority=priority
            )
    return strategies


def shape(execution):
    return sorted(
        (o.broker_account.client_id, o.leg_no, o.side, o.quantity, o.instrument.tradingsymbol, o.status)
        for o in Order.objects.filter(execution=execution).select_related("broker_account", "instrument")
    )


def book(strategy):
    return sorted(
        (p.broker_account.client_id, p.instrument.tradingsymbol, p.net_quantity, p.average_price)
        for p in Position.objects.filter(strategy=strategy).select_related("broker_account", "instrument")
    )


def test_a_batch_gives_each_strategy_the_same_orders_and_book_as_one_at_a_time(frozen, trader):
    make_chain()
    alone, *together = condors(trader, 4)
    single = execution_run(execution_id=new_execution(alone).pk)
    batch = executions_run(execution_ids=[new_execution(s).pk for s in together])

    assert single.status == Execution.Status.COMPLETED
    assert [e.status for e in batch] == [Execution.Status.COMPLETED] * 3
    assert len(shape(single)) == 8
    for execution in batch:
        assert shape(execution) == shape(single)
        assert execution.execution_results["successful_orders"] == 8
        assert execution.total_lots == single.total_lots
    for strategy in together:
        assert book(strategy) == book(alone)  # each strategy has its own book, none shared
        for position in Position.objects.filter(strategy=strategy):
            fills = Fill.objects.filter(
                strategy=strategy, broker_account=position.broker_account, instrument=position.instrument
            )
            assert position.net_quantity == sum(f.quantity if f.side == "BUY" else -f.quantity for f in fills)
    assert PaperOrder.objects.count() == Order.objects.count() == Fill.objects.count() == 32


def test_within_each_execution_of_a_batch_hedges_go_before_shorts(frozen, trader):
    make_chain()
    strategies = condors(trader, 3)
    executions_run(execution_ids=[new_execution(s).pk for s in strategies])
    for strategy in strategies:
        for client_id in ("ZERODHA123", "ANGELONE456"):
            sides = list(
                PaperOrder.objects.filter(
                    tag__in=Order.objects.filter(strategy=strategy, broker_account__client_id=client_id).values("tag")
                )
                .order_by("created_at", "id")
                .values_list("side", flat=True)
            )
            assert sides == ["BUY", "BUY", "SELL", "SELL"], (strategy, client_id, sides)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locking")
def test_overlapping_batches_delivered_concurrently_place_each_order_once(frozen, trader):
    make_chain()
    strategies = condors(trader, 6)
    ids = [new_execution(s).pk for s in strategies]
    deliveries = [ids[:4], ids[2:], ids, ids[::-1]]
    barrier = threading.Barrier(len(deliveries))
    ran, errors = [], []

    def deliver(batch):
        try:
            barrier.wait()
            ran.extend(e.pk for e in executions_run(execution_ids=batch))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(batch,)) for batch in deliveries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sorted(ran, key=str) == sorted(ids, key=str)  # each execution run by exactly one delivery
    tags = list(Order.objects.values_list("tag", flat=True))
    at_broker = list(PaperOrder.objects.values_list("tag", flat=True))
    assert len(tags) == 48 and sorted(at_broker) == sorted(tags)
    assert Fill.objects.count() == 48
    assert set(Execution.objects.values_list("status", flat=True)) == {Execution.Status.COMPLETED}


def test_one_refused_plan_does_not_stop_the_rest_of_the_batch(frozen, trader):
    make_chain()
    good, bad = condors(trader, 2)
    bad.legs.filter(leg_no=1).update(expiry_offset=9)  # no such expiry listed
    done = {e.strategy_id: e for e in executions_run(execution_ids=[new_execution(good).pk, new_execution(bad).pk])}
    assert done[good.pk].status == Execution.Status.COMPLETED
    assert done[bad.pk].status == Execution.Status.FAILED
    assert "leg 1" in done[bad.pk].error and "expiry" in done[bad.pk].error
    assert Order.objects.filter(strategy=bad).count() == 0


def test_running_a_batch_takes_the_same_queries_for_2_and_for_8_executions(frozen, trader):
    make_chain()
    strategies = condors(trader, 10)

    def queries(executions):
        with CaptureQueriesContext(connection) as ctx:
            done = executions_run(execution_ids=[e.pk for e in executions])
        assert [e.status for e in done] == [Execution.Status.COMPLETED] * len(executions)
        return len(ctx.captured_queries)

    small = queries([new_execution(s) for s in strategies[:2]])
    large = queries([new_execution(s) for s in strategies[2:]])
    print(f"queries to run a batch: 2 executions = {small}, 8 executions = {large}")
    assert small == large
    assert large <= 25


def test_plans_for_many_entries_take_the_same_queries_as_for_one(frozen, trader):
    make_chain()
    strategies = condors(trader, 9)

    def queries(executions):
        executions = list(Execution.objects.filter(pk__in=[e.pk for e in executions]).select_related("strategy"))
        with CaptureQueriesContext(connection) as ctx:
            plans = entries_plan(executions=executions, now=MONDAY_0930)
        assert all(not plan.error and len(plan.orders) == 8 for plan in plans.values())
        return len(ctx.captured_queries)

    assert queries([new_execution(strategies[0])]) == queries([new_execution(s) for s in strategies[1:]])


def test_legs_on_the_first_and_third_expiry_resolve_to_those_expiries(frozen, trader):
    make_chain()
    strategy = StrategyFactory(owner=trader)
    for leg_no, offset in ((1, 0), (2, 2)):
        LegFactory(
            strategy=strategy,
            leg_no=leg_no,
            transaction_type="BUY",
            leg_type="CALL",
            entry_by="ATM_OFFSET",
            strike_selection_config={"method": "ATM_OFFSET", "atm_offset": 0},
            expiry_offset=offset,
            lots=1,
        )
    Allocation.objects.create(
        strategy=strategy, broker_account=BrokerAccountFactory(owner=trader), strategy_lots_multiplier=1
    )
    done = execution_run(execution_id=new_execution(strategy).pk)
    assert done.status == Execution.Status.COMPLETED, done.error
    expiries = dict(Order.objects.filter(execution=done).values_list("leg_no", "instrument__expiry"))
    assert expiries == {1: dt.date(2026, 11, 24), 2: dt.date(2026, 12, 29)}


def test_the_paper_broker_refuses_a_repeated_tag_in_a_batch_call_and_places_the_rest(frozen, trader):
    make_chain()
    account = BrokerAccountFactory(owner=trader)
    instrument = Instrument.objects.get(tradingsymbol="NIFTY26112426000CE")

    def request(tag):
        return OrderRequest(
            tag=tag,
            instrument_id=instrument.pk,
            exchange="NFO",
            tradingsymbol=instrument.tradingsymbol,
            side="BUY",
            quantity=65,
            order_type="MARKET",
            limit_price=None,
            product="NRML",
        )

    broker = adapter_for(account)
    assert broker.place_orders([request("TAGA")])[0].status == "FILLED"
    answers = broker.place_orders([request("TAGB"), request("TAGA"), request("TAGB"), request("TAGC")])
    assert [a.status if not isinstance(a, BrokerError) else "ERROR" for a in answers] == [
        "FILLED",
        "ERROR",
        "ERROR",
        "FILLED",
    ]
    assert "TAGA" in answers[1].message and answers[1].permanent
    assert sorted(PaperOrder.objects.values_list("tag", flat=True)) == ["TAGA", "TAGB", "TAGC"]


def test_a_batch_of_exits_closes_each_strategys_own_book_in_the_same_queries_as_one(frozen, trader):
    make_chain()
    strategies = condors(trader, 5)
    executions_run(execution_ids=[new_execution(s).pk for s in strategies])
    assert Position.objects.exclude(net_quantity=0).count() == 40

    def queries(chosen):
        exits = [new_execution(s, "EXIT") for s in chosen]
        with CaptureQueriesContext(connection) as ctx:
            done = executions_run(execution_ids=[e.pk for e in exits])
        assert [e.status for e in done] == [Execution.Status.COMPLETED] * len(chosen)
        return len(ctx.captured_queries)

    assert queries(strategies[:1]) == queries(strategies[1:])
    assert Position.objects.exclude(net_quantity=0).count() == 0
    for strategy in strategies:  # each exit sold or bought back exactly what its own entry opened
        entry, exit_ = (
            sorted(Order.objects.filter(execution__strategy=strategy, execution__execution_type=kind).values_list(
                "broker_account__client_id", "instrument_id", "quantity"))
            for kind in ("ENTRY", "EXIT")
        )  # fmt: skip
        assert entry == exit_


def test_a_bug_in_one_plan_fails_that_execution_alone_and_the_batch_goes_on(frozen, trader, monkeypatch):
    from execution.models import Alert
    from execution.services import plan

    make_chain()
    good, bad = condors(trader, 2)
    real = plan._plan_entry

    def buggy(execution, *args):
        if execution.strategy_id == bad.pk:
            raise ZeroDivisionError("division by zero")
        return real(execution, *args)

    monkeypatch.setattr(plan, "_plan_entry", buggy)
    done = {e.strategy_id: e for e in executions_run(execution_ids=[new_execution(good).pk, new_execution(bad).pk])}
    assert done[good.pk].status == Execution.Status.COMPLETED
    assert done[bad.pk].status == Execution.Status.FAILED
    assert "ZeroDivisionError" in done[bad.pk].error and Order.objects.filter(strategy=bad).count() == 0
    assert Alert.objects.filter(strategy=bad, kind=Alert.Kind.FAILED).exists()
