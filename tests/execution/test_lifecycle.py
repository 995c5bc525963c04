"""The order lifecycle on the paper broker: resting LIMIT legs, late fills, the chase, pair-wise entry,
UNWIND / KEEP, and exits that cancel first and end flat."""

import datetime as dt
from decimal import Decimal

import pytest

from brokers.models import BrokerAccount, PaperFault, PaperOrder
from execution.models import Alert, Execution, Order, OrderEvent, Position
from execution.services import monitors
from execution.services.lifecycle import orders_work
from execution.services.placement import execution_run
from market.models import Quote

from .conftest import MONDAY_0930, make_chain, new_execution

pytestmark = pytest.mark.django_db(transaction=True)


def feed_second(frozen, seconds=1):
    """One second of the platform: the clock moves, the feed restamps its quotes, the order loop runs."""
    frozen.shift(dt.timedelta(seconds=seconds))
    from django.utils import timezone

    Quote.objects.update(updated_at=timezone.now())
    orders_work()


def run_until_settled(frozen, execution, *, limit=60):
    for _ in range(limit):
        execution.refresh_from_db()
        if execution.status != Execution.Status.WORKING:
            return execution
        feed_second(frozen)
    execution.refresh_from_db()
    return execution


def cross(order):
    """Move the quote so that the resting order is marketable at its limit."""
    quote = Quote.objects.get(instrument=order.instrument)
    if order.side == "BUY":
        quote.ask, quote.bid = order.limit_price, order.limit_price - Decimal("0.05")
    else:
        quote.bid, quote.ask = order.limit_price, order.limit_price + Decimal("0.05")
    quote.save()


def book(strategy):
    return {
        (p.broker_account.client_id, p.instrument.tradingsymbol): p.net_quantity
        for p in Position.objects.filter(strategy=strategy).select_related("broker_account", "instrument")
        if p.net_quantity
    }


def reconciled():
    return [monitors.reconciliation_report(a) for a in BrokerAccount.objects.all()]


@pytest.fixture
def limit_condor(frozen, condor):
    make_chain()
    condor.legs.update(order_type="LIMIT")  # entry and exit slippage 0: each limit sits at the last price
    return condor


def test_default_policy_completes_a_limit_entry_and_exit_that_rest_first(frozen, limit_condor):
    execution = execution_run(execution_id=new_execution(limit_condor).pk)
    assert execution.status == Execution.Status.WORKING
    assert Order.objects.filter(execution=execution, side="BUY", status="OPEN").count() == 4  # resting hedges
    assert Order.objects.filter(execution=execution, side="SELL", status="PENDING").count() == 4  # wait for them
    # Each account's card says its orders are working, not FAILED, while nothing has filled yet.
    assert {b["status"] for b in execution.execution_results["broker_executions"]} == {"WORKING"}
    # Two hedges fill later as the market comes to them (order sync); the others are chased to the touch.
    for order in Order.objects.filter(execution=execution, side="BUY", broker_account__client_id="ZERODHA123"):
        cross(order)

    execution = run_until_settled(frozen, execution)

    assert execution.status == Execution.Status.COMPLETED, execution.error
    assert set(Order.objects.filter(execution=execution).values_list("status", flat=True)) == {"FILLED"}
    # Its duration runs from the start to the last fill (the chase waited 5 s), not the settling step's.
    elapsed = (execution.completed_at - execution.started_at).total_seconds() * 1000
    assert execution.execution_results["execution_time_ms"] >= elapsed >= 5000
    assert execution.execution_results["placement_time_ms"] < elapsed
    sources = set(OrderEvent.objects.filter(order__execution=execution, to_status="FILLED").values_list("source",
                                                                                                        flat=True))  # fmt: skip
    assert sources == {"poll", "chase"}
    assert all(report["ok"] for report in reconciled()), reconciled()
    assert len(book(limit_condor)) == 8

    exit_ = run_until_settled(frozen, execution_run(execution_id=new_execution(limit_condor, "EXIT").pk))

    assert exit_.status == Execution.Status.COMPLETED, exit_.error
    assert book(limit_condor) == {}
    assert all(report["ok"] for report in reconciled()), reconciled()
    assert not PaperOrder.objects.filter(status__in=["OPEN", "PARTIAL"]).exists()
    assert not Alert.objects.filter(severity="CRITICAL").exists()


def test_a_short_waits_only_for_its_own_hedge(frozen, limit_condor):
    limit_condor.legs.filter(leg_type="PUT").update(chase_after_seconds=600)  # the put hedge keeps resting
    limit_condor.legs.filter(leg_type="CALL").update(order_type="MARKET")
    execution = execution_run(execution_id=new_execution(limit_condor).pk)
    for _ in range(3):
        feed_second(frozen)
    by_leg = dict(
        Order.objects.filter(execution=execution, broker_account__client_id="ZERODHA123").values_list(
            "leg_no", "status"
        )
    )
    # Legs: 1 SELL PUT, 2 BUY PUT, 3 SELL CALL, 4 BUY CALL.
    assert by_leg == {1: "PENDING", 2: "OPEN", 3: "FILLED", 4: "FILLED"}


def test_a_hedge_that_cannot_fill_within_its_chase_unwinds_the_entry_at_market(frozen, limit_condor):
    zerodha = BrokerAccount.objects.get(client_id="ZERODHA123")
    limit_condor.legs.filter(leg_no=2).update(chase_max_modifies=1)
    limit_condor.legs.exclude(leg_no=2).update(order_type="MARKET")
    # The put hedge (leg 2, the account's first BUY) finds no seller at any price.
    PaperFault.objects.create(account=zerodha, kind="ILLIQUID", side="BUY")
    execution = execution_run(execution_id=new_execution(limit_condor).pk)

    execution = run_until_settled(frozen, execution)

    assert execution.status == Execution.Status.PARTIAL  # ANGELONE456 has the same legs; its book is complete
    assert "ZERODHA123: entry unwound (leg 2 BUY" in execution.error
    orders = Order.objects.filter(execution=execution, broker_account=zerodha)
    hedge = orders.get(leg_no=2, unwind=False)
    assert hedge.status == "CANCELLED"
    assert orders.get(leg_no=1, unwind=False).status == "CANCELLED"  # its short was never sent
    assert not PaperOrder.objects.filter(tag=orders.get(leg_no=1, unwind=False).tag).exists()
    assert {(o.leg_no, o.side, o.status) for o in orders.filter(unwind=True)} == {(3, "BUY", "FILLED"),
                                                                                   (4, "SELL", "FILLED")}  # fmt: skip
    assert not {k: v for k, v in book(limit_condor).items() if k[0] == "ZERODHA123"}
    assert all(report["ok"] for report in reconciled()), reconciled()
    chase = list(OrderEvent.objects.filter(order=hedge, source="chase").values_list("detail", flat=True))
    assert len(chase) == 2 and chase[0].startswith("chase 1/1: limit") and "at market, protected at" in chase[1]
    assert OrderEvent.objects.filter(order=hedge, to_status="CANCELLED").get().detail.startswith("cancelled: entry")


def test_a_chase_whose_touch_does_not_move_still_steps_on_to_market(frozen, limit_condor):
    """Found by the property test: once the limit sat at the touch, a second chase to the same price changed
    nothing, was not counted, and the hedge rested OPEN forever with its short PENDING behind it."""
    zerodha = BrokerAccount.objects.get(client_id="ZERODHA123")
    PaperFault.objects.create(account=zerodha, kind="ILLIQUID", side="BUY")  # leg 2, the put hedge
    execution = execution_run(execution_id=new_execution(limit_condor).pk)

    execution = run_until_settled(frozen, execution)

    assert execution.status == Execution.Status.PARTIAL, execution.error
    hedge = Order.objects.get(execution=execution, broker_account=zerodha, leg_no=2, unwind=False)
    chase = list(OrderEvent.objects.filter(order=hedge, source="chase").order_by("pk").values_list("detail", flat=True))
    assert chase[0].startswith("chase 1/2: limit") and "->" in chase[0]
    assert chase[1].startswith("chase 2/2: limit") and chase[1].endswith("is the touch")
    assert "at market, protected at" in chase[2]
    assert hedge.status == "CANCELLED" and hedge.chase_count == 3
    assert not {k: v for k, v in book(limit_condor).items() if k[0] == "ZERODHA123"}
    assert all(report["ok"] for report in reconciled()), reconciled()


def test_an_unwind_the_broker_refuses_sells_no_hedge_and_raises_a_critical_alert(frozen, limit_condor):
    """Found by the property test: the unwind's buy-back of a short never reached the broker, and the hedge sell
    behind it waited PENDING for ever, the entry WORKING. Now the hedge stays, and ops are told what is open."""
    limit_condor.legs.update(order_type="MARKET")
    zerodha = BrokerAccount.objects.get(client_id="ZERODHA123")
    PaperFault.objects.create(account=zerodha, kind="REJECT", side="BUY", message="RMS: margin")  # the put hedge
    execution = execution_run(execution_id=new_execution(limit_condor).pk)
    PaperFault.objects.create(account=zerodha, kind="REJECT", side="BUY", message="RMS: no buy-back")

    execution = run_until_settled(frozen, execution)

    assert execution.status == Execution.Status.PARTIAL, execution.error
    unwind = {(o.leg_no, o.side): o for o in Order.objects.filter(execution=execution, unwind=True)}
    assert unwind[(3, "BUY")].status == "REJECTED"
    assert unwind[(4, "SELL")].status == "CANCELLED"  # never sent: the short it covers is still open
    assert not PaperOrder.objects.filter(tag=unwind[(4, "SELL")].tag).exists()
    held = {k[1]: v for k, v in book(limit_condor).items() if k[0] == "ZERODHA123"}
    assert sorted(held.values()) == [-65, 65] and all(symbol.endswith("CE") for symbol in held)
    alert = Alert.objects.get(severity="CRITICAL", execution=execution, broker_account=zerodha)
    assert "the unwind could not close" in alert.message and "RMS: no buy-back" in alert.message
    for symbol, quantity in held.items():
        assert f"{symbol} {quantity:+d}" in alert.message and f"{symbol} {quantity:+d}" in execution.error
    assert all(report["ok"] for report in reconciled()), reconciled()


def test_keep_leaves_what_filled_and_raises_a_critical_alert(frozen, limit_condor):
    limit_condor.on_failed_entry = "KEEP"
    limit_condor.save()
    limit_condor.legs.update(order_type="MARKET")
    zerodha = BrokerAccount.objects.get(client_id="ZERODHA123")
    PaperFault.objects.create(account=zerodha, kind="REJECT", side="BUY", message="RMS: margin")
    execution = run_until_settled(frozen, execution_run(execution_id=new_execution(limit_condor).pk))

    by_leg = dict(Order.objects.filter(execution=execution, broker_account=zerodha).values_list("leg_no", "status"))
    assert by_leg == {1: "CANCELLED", 2: "REJECTED", 3: "FILLED", 4: "FILLED"}
    assert not Order.objects.filter(execution=execution, unwind=True).exists()
    alert = Alert.objects.get(severity="CRITICAL", kind="FAILED", execution=execution)
    assert "on_failed_entry KEEP" in alert.message and "leg 2 BUY" in alert.message
    assert execution.status == Execution.Status.PARTIAL
    # Never net short a type without its hedge: the account's puts hold nothing, its calls are a spread.
    held = book(limit_condor)
    assert not any(k[0] == "ZERODHA123" and k[1].endswith("PE") for k in held)


def test_an_exit_cancels_the_working_entry_first_and_closes_the_actual_book(frozen, limit_condor):
    limit_condor.legs.update(chase_after_seconds=600)  # nothing is chased: the entry keeps working
    entry = execution_run(execution_id=new_execution(limit_condor).pk)
    zerodha = BrokerAccount.objects.get(client_id="ZERODHA123")
    put_hedge = Order.objects.get(execution=entry, broker_account=zerodha, leg_no=2)
    cross(put_hedge)
    feed_second(frozen)  # the put hedge fills; its short goes and rests
    assert Order.objects.get(execution=entry, broker_account=zerodha, leg_no=1).status == "OPEN"
    limit_condor.legs.update(chase_after_seconds=5)  # the exit chases at the default pace

    exit_ = execution_run(
        execution_id=new_execution(limit_condor, "EXIT", due_at=MONDAY_0930 + dt.timedelta(seconds=1)).pk
    )
    exit_ = run_until_settled(frozen, exit_)
    entry.refresh_from_db()

    assert not Order.objects.filter(execution=entry, status__in=["PENDING", "SENT", "OPEN", "PARTIAL"]).exists()
    assert exit_.status == Execution.Status.COMPLETED, exit_.error
    # Per account: the resting put short, the call hedge and the call short waiting for it.
    assert "cancelled 6 working order(s) of the strategy first" in exit_.error
    assert set(Order.objects.filter(execution=exit_).values_list("side", flat=True)) == {"SELL"}
    assert book(limit_condor) == {}
    assert entry.status != Execution.Status.WORKING and "cancelled by exit" in entry.error
    assert all(report["ok"] for report in reconciled()), reconciled()


def test_an_exit_while_nothing_has_filled_yet_says_so(frozen, limit_condor):
    limit_condor.legs.update(chase_after_seconds=600)
    entry = execution_run(execution_id=new_execution(limit_condor).pk)
    exit_ = execution_run(execution_id=new_execution(limit_condor, "EXIT").pk)
    assert exit_.status == Execution.Status.COMPLETED
    assert exit_.error.startswith("nothing to exit: no working order of the strategy had filled")
    assert "cancelled 8 working order(s)" in exit_.error
    assert set(Order.objects.filter(execution=entry).values_list("status", flat=True)) == {"CANCELLED"}
    assert not PaperOrder.objects.filter(status="OPEN").exists()


def test_an_exit_that_cannot_close_raises_a_critical_alert_naming_what_is_open(frozen, limit_condor):
    limit_condor.legs.update(order_type="MARKET")
    run_until_settled(frozen, execution_run(execution_id=new_execution(limit_condor).pk))
    angel = BrokerAccount.objects.get(client_id="ANGELONE456")
    PaperFault.objects.create(account=angel, kind="REJECT", side="BUY", remaining=1, message="RMS: blocked")
    exit_ = run_until_settled(frozen, execution_run(execution_id=new_execution(limit_condor, "EXIT").pk))

    assert exit_.status == Execution.Status.PARTIAL
    alert = Alert.objects.get(severity="CRITICAL", execution=exit_, kind="FAILED")
    assert "still open: ANGELONE456" in alert.message and "The book is not flat" in alert.message
    held = book(limit_condor)
    assert held and all(k[0] == "ANGELONE456" for k in held)
    # The refused buy-back keeps its hedge: the account is never left net short an uncovered type.
    for symbol in {k[1] for k in held}:
        assert symbol[-2:] in ("PE", "CE")
    shorts = {k[1][-2:]: v for k, v in held.items() if v < 0}
    longs = {k[1][-2:]: v for k, v in held.items() if v > 0}
    for option_type, quantity in shorts.items():
        assert longs.get(option_type, 0) >= -quantity


@pytest.mark.parametrize("turns_up", ["OPEN", "FILLED"])
def test_an_entry_order_of_unknown_outcome_that_turns_up_after_the_exit_is_cancelled_or_named(
    frozen, limit_condor, turns_up
):
    """The exit cancels what it can; an order whose outcome nobody knew at that moment (the broker timed out)
    may turn up later. Working, it is cancelled then; filled, a critical alert names it (it is never chased)."""
    from django.utils import timezone

    limit_condor.legs.update(order_type="MARKET")
    zerodha = BrokerAccount.objects.get(client_id="ZERODHA123")
    PaperFault.objects.create(account=zerodha, kind="TIMEOUT", side="BUY", remaining=1)  # leg 2 never arrives
    entry = execution_run(execution_id=new_execution(limit_condor).pk)
    hedge = Order.objects.get(execution=entry, broker_account=zerodha, leg_no=2)
    assert hedge.status == "UNKNOWN"

    exit_ = execution_run(execution_id=new_execution(limit_condor, "EXIT", due_at=MONDAY_0930).pk)
    exit_ = run_until_settled(frozen, exit_, limit=5)
    assert exit_.status == Execution.Status.COMPLETED, exit_.error
    assert book(limit_condor) == {}
    hedge.refresh_from_db()
    assert hedge.status == "UNKNOWN"  # still being looked up when the exit closed the book

    # The broker had it after all (its answer was lost): it shows up in the account's order book now.
    quote = Quote.objects.get(instrument=hedge.instrument)
    late = PaperOrder.objects.create(
        account=zerodha,
        broker_order_id="PLATE0000000001",
        tag=hedge.tag,
        instrument=hedge.instrument,
        side="BUY",
        quantity=hedge.quantity,
        order_type="LIMIT",
        limit_price=quote.bid - Decimal("1.00") if turns_up == "OPEN" else quote.ask,
        status=turns_up,
        filled_quantity=hedge.quantity if turns_up == "FILLED" else 0,
        average_price=quote.ask if turns_up == "FILLED" else None,
        fills=[{"id": "PLATE-1", "quantity": hedge.quantity, "price": str(quote.ask), "at": timezone.now().isoformat()}]
        if turns_up == "FILLED"
        else [],
    )
    entry = run_until_settled(frozen, entry, limit=10)

    assert entry.status != Execution.Status.WORKING
    late.refresh_from_db()
    hedge.refresh_from_db()
    assert not Order.objects.filter(execution=entry, chase_count__gt=0).exists()  # nothing chased after the exit
    assert all(report["ok"] for report in reconciled()), reconciled()
    alerts = Alert.objects.filter(execution=entry, severity="CRITICAL", message__contains="after exit")
    if turns_up == "OPEN":
        assert late.status == "CANCELLED" and hedge.status == "CANCELLED"
        assert book(limit_condor) == {}
        assert not alerts.exists()
    else:
        assert hedge.status == "FILLED"
        assert book(limit_condor) == {("ZERODHA123", hedge.instrument.tradingsymbol): hedge.quantity}
        alert = alerts.get()
        assert f"BUY {hedge.quantity} {hedge.instrument.tradingsymbol}" in alert.message
        assert f"exit {exit_.pk}" in alert.message
