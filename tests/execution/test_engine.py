"""The execution engine on the paper broker: what a trader sees in orders, fills and books."""

import datetime as dt

import pytest

from brokers.models import BrokerAccount, PaperFault, PaperOrder
from execution.models import Alert, Execution, Order, Position
from execution.services.placement import execution_run
from execution.services.plan import order_tag
from execution.services.reconciliation import orders_reconcile

from .conftest import MONDAY_0930, make_chain, new_execution

pytestmark = pytest.mark.django_db(transaction=True)


def orders_of(execution, client_id):
    return list(Order.objects.filter(execution=execution, broker_account__client_id=client_id).order_by("sequence"))


def test_entry_places_every_leg_for_every_account_once(frozen, condor):
    make_chain()
    execution = new_execution(condor)

    done = execution_run(execution_id=execution.pk)

    assert done.status == Execution.Status.COMPLETED, done.execution_results
    assert Order.objects.filter(execution=execution, status=Order.Status.FILLED).count() == 8
    assert PaperOrder.objects.count() == 8
    zerodha = orders_of(execution, "ZERODHA123")
    assert [(o.leg_no, o.side, o.lots, o.quantity) for o in zerodha] == [
        (2, "BUY", 3, 195),
        (4, "BUY", 1, 65),
        (1, "SELL", 3, 195),
        (3, "SELL", 1, 65),
    ]
    assert done.total_lots == 18


def test_entry_picks_strikes_by_delta_and_distance(frozen, condor):
    make_chain()
    execution = execution_run(execution_id=new_execution(condor).pk)
    legs = {
        o.leg_no: o.instrument
        for o in Order.objects.filter(execution=execution, broker_account__client_id="ZERODHA123")
    }
    assert legs[2].strike == 25500 and legs[2].option_type == "PE"  # 500 points below ATM 26000
    assert legs[4].strike == 26500 and legs[4].option_type == "CE"
    assert 25500 < legs[1].strike < 26000 and legs[1].option_type == "PE"  # delta 0.2 put: out of the money
    assert 26000 < legs[3].strike < 26500 and legs[3].option_type == "CE"
    assert {i.expiry for i in legs.values()} == {dt.date(2026, 11, 24)}


def test_fills_land_in_the_strategys_own_book(frozen, condor):
    make_chain()
    execution_run(execution_id=new_execution(condor).pk)
    book = {
        (p.broker_account.client_id, p.instrument.option_type, p.net_quantity > 0): p.net_quantity
        for p in Position.objects.filter(strategy=condor).select_related("broker_account", "instrument")
    }
    assert book[("ZERODHA123", "PE", False)] == -195
    assert book[("ZERODHA123", "PE", True)] == 195
    assert book[("ANGELONE456", "CE", False)] == -260
    assert len(book) == 8


def test_results_are_per_broker_and_per_leg_like_seed_002(frozen, condor):
    make_chain()
    execution = execution_run(execution_id=new_execution(condor).pk)
    brokers = {b["client_id"]: b for b in execution.execution_results["broker_executions"]}
    assert brokers["ZERODHA123"]["total_lots"] == 8 and brokers["ANGELONE456"]["total_lots"] == 10
    leg = next(item for item in brokers["ANGELONE456"]["leg_executions"] if item["leg_no"] == 3)
    assert (leg["base_lots"], leg["final_lots"], leg["status"]) == (2, 4, "FILLED")
    assert "SELL 260 (4 lots)" in leg["message"]


def test_a_second_run_of_the_same_execution_places_nothing(frozen, condor):
    make_chain()
    execution = new_execution(condor)
    execution_run(execution_id=execution.pk)
    assert execution_run(execution_id=execution.pk) is None
    assert PaperOrder.objects.count() == 8


def test_a_claim_later_than_the_budget_is_missed_with_an_alert_and_trades_nothing(frozen, condor):
    make_chain()
    execution = new_execution(condor, due_at=MONDAY_0930 - dt.timedelta(seconds=31))
    assert execution_run(execution_id=execution.pk) is None
    execution.refresh_from_db()
    assert execution.status == Execution.Status.MISSED
    assert "31 s late" in execution.error
    assert "due 09:29:29 IST" in execution.error  # traders read IST (MONDAY_0930 is 09:30 IST)
    assert Alert.objects.filter(kind="MISSED", execution=execution).exists()
    assert not PaperOrder.objects.exists()


def test_a_claim_within_the_budget_trades(frozen, condor):
    make_chain()
    execution = new_execution(condor, due_at=MONDAY_0930 - dt.timedelta(seconds=29))
    assert execution_run(execution_id=execution.pk).status == Execution.Status.COMPLETED


def test_exit_closes_exactly_the_strategys_own_quantity_shorts_first(frozen, condor):
    make_chain()
    execution_run(execution_id=new_execution(condor).pk)
    exit_ = execution_run(execution_id=new_execution(condor, "EXIT", due_at=MONDAY_0930 + dt.timedelta(minutes=1)).pk)
    assert exit_.status == Execution.Status.COMPLETED, exit_.execution_results
    zerodha = orders_of(exit_, "ZERODHA123")
    assert [o.side for o in zerodha] == ["BUY", "BUY", "SELL", "SELL"]
    assert not Position.objects.filter(strategy=condor).exclude(net_quantity=0).exists()


def test_two_strategies_on_the_same_contract_keep_separate_books(frozen, trader, condor):
    """Seed 003: exiting one strategy leaves the other's position on the same account and contract."""
    from tests.factories import LegFactory, StrategyFactory

    make_chain()
    other = StrategyFactory(owner=trader)
    LegFactory(strategy=other, leg_no=1, transaction_type="SELL", leg_type="PUT", lots=1,
               entry_by="STRIKE_DISTANCE", strike_selection_config={"method": "STRIKE_DISTANCE", "strike_distance": 500})  # fmt: skip
    from allocations.models import Allocation
    from brokers.models import BrokerAccount

    zerodha = BrokerAccount.objects.get(owner=trader, client_id="ZERODHA123")
    Allocation.objects.create(strategy=other, broker_account=zerodha, strategy_lots_multiplier=1)
    execution_run(execution_id=new_execution(condor).pk)
    execution_run(execution_id=new_execution(other).pk)
    put_25500 = Order.objects.get(strategy=other).instrument
    assert Position.objects.get(strategy=condor, broker_account=zerodha, instrument=put_25500).net_quantity == 195
    assert Position.objects.get(strategy=other, broker_account=zerodha, instrument=put_25500).net_quantity == -65

    execution_run(execution_id=new_execution(other, "EXIT", due_at=MONDAY_0930 + dt.timedelta(minutes=1)).pk)

    assert Position.objects.get(strategy=other, broker_account=zerodha, instrument=put_25500).net_quantity == 0
    assert Position.objects.get(strategy=condor, broker_account=zerodha, instrument=put_25500).net_quantity == 195


def test_quantity_above_the_freeze_limit_is_sliced(frozen, condor):
    make_chain()
    from allocations.models import LegOverride

    LegOverride.objects.filter(allocation__broker_account__client_id="ZERODHA123", leg__leg_no=2).update(lots=30)
    execution = execution_run(execution_id=new_execution(condor).pk)
    leg2 = [o for o in orders_of(execution, "ZERODHA123") if o.leg_no == 2]
    assert [o.quantity for o in leg2] == [1755, 195]  # freeze 1800 → 27 lots of 65 per slice
    assert len({o.tag for o in leg2}) == 2
    assert (
        Position.objects.get(
            strategy=condor, instrument=leg2[0].instrument, broker_account=leg2[0].broker_account
        ).net_quantity
        == 1950
    )


def test_a_rejected_hedge_holds_back_its_own_short_only_then_that_account_unwinds(frozen, condor):
    make_chain()
    from brokers.models import BrokerAccount
    from execution.services.lifecycle import executions_advance

    PaperFault.objects.create(
        account=BrokerAccount.objects.get(client_id="ZERODHA123"), kind="REJECT", side="BUY", message="RMS: margin"
    )
    execution = execution_run(execution_id=new_execution(condor).pk)
    zerodha = orders_of(execution, "ZERODHA123")
    # Leg 2 (BUY PE) was refused: the put short (leg 1) waits for it; the call short went with its own hedge.
    assert [(o.leg_no, o.status) for o in zerodha] == [(2, "REJECTED"), (4, "FILLED"), (1, "PENDING"), (3, "FILLED")]
    assert zerodha[0].error == "RMS: margin"
    assert {o.status for o in orders_of(execution, "ANGELONE456")} == {"FILLED"}
    assert execution.status == Execution.Status.WORKING

    executions_advance()  # UNWIND (the default): the short never goes; the call spread is closed at market
    executions_advance()
    execution.refresh_from_db()
    zerodha = orders_of(execution, "ZERODHA123")
    assert [(o.leg_no, o.side, o.status, o.unwind) for o in zerodha] == [
        (2, "BUY", "REJECTED", False),
        (4, "BUY", "FILLED", False),
        (1, "SELL", "CANCELLED", False),
        (3, "SELL", "FILLED", False),
        (3, "BUY", "FILLED", True),
        (4, "SELL", "FILLED", True),
    ]
    assert (
        not Position.objects.filter(strategy=condor, broker_account__client_id="ZERODHA123")
        .exclude(net_quantity=0)
        .exists()
    )
    assert execution.status == Execution.Status.PARTIAL  # ANGELONE456 entered in full
    assert "ZERODHA123: entry unwound (leg 2 BUY" in execution.error
    assert Alert.objects.filter(kind="FAILED", execution=execution).exists()


def test_a_timeout_leaves_the_order_unknown_and_reconciliation_finds_it_by_tag(frozen, condor):
    make_chain()
    from brokers.models import BrokerAccount

    PaperFault.objects.create(account=BrokerAccount.objects.get(client_id="ANGELONE456"), kind="TIMEOUT_AFTER_PLACE")
    execution = execution_run(execution_id=new_execution(condor).pk)
    first = orders_of(execution, "ANGELONE456")[0]
    assert first.status == Order.Status.UNKNOWN
    assert execution.status == Execution.Status.WORKING
    assert Alert.objects.filter(kind="UNKNOWN_ORDER").exists()

    assert orders_reconcile(now=MONDAY_0930) == 1

    first.refresh_from_db()
    assert first.status == Order.Status.FILLED
    assert PaperOrder.objects.filter(tag=first.tag).count() == 1
    assert (
        Position.objects.get(
            strategy=condor, broker_account=first.broker_account, instrument=first.instrument
        ).net_quantity
        == 65
    )


def test_partial_fill_is_recorded_as_partial(frozen, condor):
    make_chain()
    from allocations.models import LegOverride
    from brokers.models import BrokerAccount

    LegOverride.objects.filter(allocation__broker_account__client_id="ZERODHA123", leg__leg_no=2).update(lots=4)
    PaperFault.objects.create(
        account=BrokerAccount.objects.get(client_id="ZERODHA123"), kind="PARTIAL", fill_ratio="0.5"
    )
    execution = execution_run(execution_id=new_execution(condor).pk)
    first = orders_of(execution, "ZERODHA123")[0]
    assert (first.status, first.filled_quantity, first.quantity) == ("PARTIAL", 130, 260)
    assert execution.status == Execution.Status.WORKING  # the rest fills through order sync and the chase


def test_risk_limit_breach_skips_that_account_with_its_reason(frozen, condor):
    make_chain()
    from allocations.models import Allocation

    Allocation.objects.filter(broker_account__client_id="ANGELONE456").update(risk_limits={"max_daily_trades": 2})
    execution = execution_run(execution_id=new_execution(condor).pk)
    brokers = {b["client_id"]: b for b in execution.execution_results["broker_executions"]}
    assert brokers["ANGELONE456"]["status"] == "SKIPPED"
    assert "max_daily_trades 2" in brokers["ANGELONE456"]["reason"]
    assert brokers["ZERODHA123"]["status"] == "COMPLETED"
    assert not Order.objects.filter(broker_account__client_id="ANGELONE456").exists()


def test_max_daily_trades_counts_orders_that_reached_the_broker_not_ones_never_sent(frozen, condor):
    """Found by a trader: shorts cancelled "not sent" (their hedges rejected) used up max_daily_trades and the
    next entry was refused."""
    make_chain()
    from allocations.models import Allocation

    angel = BrokerAccount.objects.get(client_id="ANGELONE456")
    Allocation.objects.filter(broker_account=angel).update(risk_limits={"max_daily_trades": 6})
    PaperFault.objects.create(account=angel, kind="REJECT", side="BUY", remaining=2, message="RMS: margin")
    first = execution_run(execution_id=new_execution(condor).pk)
    statuses = sorted(Order.objects.filter(execution=first, broker_account=angel).values_list("status", flat=True))
    assert statuses == ["CANCELLED", "CANCELLED", "REJECTED", "REJECTED"]  # 2 reached the broker, 2 never sent

    later = MONDAY_0930 + dt.timedelta(minutes=1)
    second = execution_run(execution_id=new_execution(condor, due_at=later, trigger="MANUAL").pk)

    brokers = {b["client_id"]: b for b in second.execution_results["broker_executions"]}
    assert brokers["ANGELONE456"]["status"] == "COMPLETED", brokers["ANGELONE456"]["reason"]  # 2 + 4 <= 6
    third = execution_run(execution_id=new_execution(condor, due_at=later, trigger="MANUAL").pk)
    brokers = {b["client_id"]: b for b in third.execution_results["broker_executions"]}
    assert "max_daily_trades 6: 6 orders today + 4 planned" in brokers["ANGELONE456"]["reason"]


def test_kill_switch_blocks_entries_on_that_account(frozen, condor):
    make_chain()
    from brokers.models import BrokerAccount

    BrokerAccount.objects.filter(client_id="ZERODHA123").update(entries_blocked=True)
    execution = execution_run(execution_id=new_execution(condor).pk)
    assert not Order.objects.filter(broker_account__client_id="ZERODHA123").exists()
    assert (
        "kill switch"
        in {b["client_id"]: b for b in execution.execution_results["broker_executions"]}["ZERODHA123"]["reason"]
    )


def test_a_stale_quote_refuses_to_price_limit_orders_and_says_why(frozen, condor):
    make_chain(now=MONDAY_0930 - dt.timedelta(minutes=5))
    execution = execution_run(execution_id=new_execution(condor).pk)
    assert execution.status == Execution.Status.FAILED
    assert "stale" in execution.error
    assert not PaperOrder.objects.exists()


def test_without_any_feed_the_paper_broker_simulates_the_chain(frozen, condor):
    make_chain(with_quotes=False)
    execution = execution_run(execution_id=new_execution(condor).pk)
    assert execution.status == Execution.Status.COMPLETED, execution.error
    assert PaperOrder.objects.count() == 8


def test_order_tags_are_deterministic_short_and_broker_safe():
    tag = order_tag("a6d3b1e2-0000-0000-0000-000000000001", "b", "L1", 1)
    assert tag == order_tag("a6d3b1e2-0000-0000-0000-000000000001", "b", "L1", 1)
    assert tag != order_tag("a6d3b1e2-0000-0000-0000-000000000001", "b", "L1", 2)
    assert len(tag) <= 20 and tag.isalnum() and tag.isupper()


def test_exit_with_nothing_open_completes_and_says_so(frozen, condor):
    make_chain()
    execution = execution_run(execution_id=new_execution(condor, "EXIT").pk)
    assert execution.status == Execution.Status.COMPLETED
    assert "nothing to exit" in execution.error


def test_an_unknown_order_the_broker_never_received_is_marked_not_placed_after_the_grace(frozen, condor):
    make_chain()
    from brokers.models import BrokerAccount

    PaperFault.objects.create(account=BrokerAccount.objects.get(client_id="ANGELONE456"), kind="TIMEOUT")
    execution = execution_run(execution_id=new_execution(condor).pk)
    first = orders_of(execution, "ANGELONE456")[0]
    assert first.status == Order.Status.UNKNOWN
    assert orders_reconcile(now=MONDAY_0930) == 0  # still within the grace: left UNKNOWN
    assert orders_reconcile(now=MONDAY_0930 + dt.timedelta(minutes=2)) == 1
    first.refresh_from_db()
    assert first.status == Order.Status.CANCELLED and "never placed" in first.error
    assert not PaperOrder.objects.filter(tag=first.tag).exists()
