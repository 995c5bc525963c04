"""End to end on the live path: the seed 001 condor on one Zerodha and one Angel One account, against the
loopback Kite and SmartAPI fakes, through the engine (placement, order sync, postbacks, reconciliation)."""

import time
from collections import Counter

import pytest
import time_machine

from brokers import sessions
from brokers.adapters.base import adapter_for
from brokers.models import BrokerAccount
from execution.models import Alert, Execution, Fill, Order, Position
from execution.services import lifecycle, monitors
from execution.services.placement import execution_run
from execution.services.sync import orders_sync, orders_sync_all
from market.models import Instrument
from tests.brokers.conftest import ANGEL, KITE
from tests.execution.conftest import MONDAY_0930, make_chain, new_execution

pytestmark = pytest.mark.django_db(transaction=True)


def angel_symbol(instrument):
    return f"{instrument.underlying}{instrument.expiry:%d%b%y}{int(instrument.strike)}{instrument.option_type}".upper()


@pytest.fixture
def live_condor(condor, kite_fake, angel_fake, live_server):
    """The condor's two accounts made live: ZERODHA123 connected to the Kite fake (postbacks to this server),
    ANGELONE456 logging in to the SmartAPI fake from its TOTP secret; orders rest until the fakes fill them."""
    with time_machine.travel(MONDAY_0930, tick=False) as traveller:
        make_chain()
        for instrument in Instrument.objects.filter(kind="OPTION"):
            instrument.broker_tokens = {
                "PAPER": instrument.tradingsymbol,
                "ZERODHA": {"symbol": instrument.tradingsymbol, "token": str(9_000_000 + instrument.pk)},
                "ANGELONE": {"symbol": angel_symbol(instrument), "token": str(40_000 + instrument.pk)},
            }
            instrument.save(update_fields=["broker_tokens"])
        zerodha = BrokerAccount.objects.get(client_id="ZERODHA123")
        zerodha.broker, zerodha.algo_id, zerodha.credentials = "ZERODHA", "ALGO42", KITE
        zerodha.save()
        kite_fake.control(
            issue_tokens=["tok-e2e"],
            postback_url=f"{live_server.url}/brokers/zerodha/postback/",
            fill_later=99,
            fill_later_side="SELL",
        )
        sessions.session_save(account=zerodha, tokens={"access_token": "tok-e2e"})
        angel = BrokerAccount.objects.get(client_id="ANGELONE456")
        angel.broker, angel.credentials = "ANGELONE", ANGEL
        angel.save()
        angel_fake.control(clock=time.time(), fill_later=99, fill_later_side="SELL")
        yield traveller, zerodha, angel


def wait_for(predicate, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_seed_001_condor_enters_fills_late_exits_flat_and_reconciles_clean(live_condor, kite_fake, angel_fake):
    traveller, zerodha, angel = live_condor
    entry = execution_run(execution_id=new_execution(condor_of(zerodha)).pk)

    kite_orders, angel_orders = kite_fake.orders(), angel_fake.orders()
    # seed 001: ZERODHA123 trades 3,3,1,1 lots and ANGELONE456 1,1,4,4 (65 a lot), each order exactly once
    assert sorted(o["quantity"] for o in kite_orders) == [65, 65, 195, 195]
    assert sorted(o["quantity"] for o in angel_orders) == [65, 65, 260, 260]
    platform = {o.tag: o for o in Order.objects.filter(execution=entry).select_related("instrument")}
    assert len(platform) == 8
    assert {o["tag"] for o in kite_orders + angel_orders} == set(platform)
    for sent in kite_orders:
        order = platform[sent["tag"]]
        assert (sent["tradingsymbol"], sent["side"], sent["product"]) == (
            order.instrument.tradingsymbol,
            order.side,
            "NRML",
        )
        assert sent["extra"]["algo_id"] == "ALGO42"
    for sent in angel_orders:
        order = platform[sent["tag"]]
        assert sent["tradingsymbol"] == angel_symbol(order.instrument)
        assert sent["token"] == str(40_000 + order.instrument_id) and sent["product"] == "CARRYFORWARD"
    # The hedges (BUY) traded at once; the shorts rest at both brokers until the fakes fill them.
    assert Fill.objects.filter(order__execution=entry).count() == 4
    assert {o["status"] for o in kite_orders + angel_orders if o["side"] == "SELL"} == {"OPEN"}

    # Fills arrive later: Kite pushes a postback to the webhook; Angel One is polled by the order sync.
    kite_fake.fill()
    assert wait_for(lambda: Fill.objects.filter(order__broker_account=zerodha, order__side="SELL").count() == 2)
    angel_fake.fill()
    orders_sync_all()
    assert Fill.objects.filter(order__broker_account=angel, order__side="SELL").count() == 2
    assert set(Order.objects.filter(execution=entry).values_list("status", flat=True)) == {"FILLED"}
    assert Position.objects.filter(broker_account=zerodha).exclude(net_quantity=0).count() == 4

    # Exit: market orders fill at once; both fakes and both books end flat.
    kite_fake.control(fill_later=0, fill_later_side="")
    angel_fake.control(fill_later=0, fill_later_side="")
    exit_ = execution_run(execution_id=new_execution(condor_of(zerodha), "EXIT").pk)
    orders_sync_all()
    assert Execution.objects.get(pk=exit_.pk).status == "COMPLETED"
    for account, fake in ((zerodha, kite_fake), (angel, angel_fake)):
        assert not Position.objects.filter(broker_account=account).exclude(net_quantity=0).exists()
        net = {}
        for o in fake.orders():
            net[o["tradingsymbol"]] = net.get(o["tradingsymbol"], 0) + (
                o["filled"] if o["side"] == "BUY" else -o["filled"]
            )
        assert set(net.values()) == {0}
        report = monitors.reconciliation_report(account)
        assert report["ok"], report
    assert not Alert.objects.filter(kind__in=["RECONCILIATION", "UNKNOWN_ORDER"]).exists()


def condor_of(account):
    return account.allocations.get().strategy


def test_a_zerodha_session_that_expires_mid_day_alerts_and_skips_that_account_only(live_condor, kite_fake, angel_fake):
    traveller, zerodha, angel = live_condor
    kite_fake.control(fill_later=0, fill_later_side="")
    angel_fake.control(fill_later=0, fill_later_side="")
    execution_run(execution_id=new_execution(condor_of(zerodha)).pk)
    assert Position.objects.exclude(net_quantity=0).count() == 8

    kite_fake.control(expire_session=True)  # Kite ends the session mid-day
    exit_ = execution_run(execution_id=new_execution(condor_of(zerodha), "EXIT").pk)

    assert len(kite_fake.orders()) == 4  # the entry's orders only: nothing was sent on a dead session
    assert not Position.objects.filter(broker_account=angel).exclude(net_quantity=0).exists()  # Angel One exited
    held = Position.objects.filter(broker_account=zerodha).exclude(net_quantity=0).count()
    assert held == 4  # Zerodha's book still says what Zerodha holds: nothing lost, nothing guessed
    zerodha.refresh_from_db()
    assert zerodha.last_error.startswith("session:") and not zerodha.session_token_encrypted
    (alert,) = Alert.objects.filter(execution=exit_)
    assert "ZERODHA123" in alert.message
    assert not Order.objects.filter(execution=exit_, broker_account=zerodha, status__in=["SENT", "UNKNOWN"]).exists()
    assert Execution.objects.get(pk=exit_.pk).status == "PARTIAL"
    rejected = Order.objects.filter(execution=exit_, broker_account=zerodha, status="REJECTED")
    assert rejected.exists() and all("Zerodha" in error for error in rejected.values_list("error", flat=True))


def test_a_zerodha_session_ended_before_the_entry_skips_that_account_with_an_alert_and_angel_trades(
    live_condor, kite_fake, angel_fake
):
    traveller, zerodha, angel = live_condor
    kite_fake.control(fill_later=0, expire_session=True)  # Kite ends the session before the entry
    angel_fake.control(fill_later=0)
    entry = execution_run(execution_id=new_execution(condor_of(zerodha)).pk)

    assert kite_fake.orders() == []  # nothing reached Zerodha
    assert len(angel_fake.orders()) == 4  # Angel One traded
    zerodha.refresh_from_db()
    assert zerodha.last_error.startswith("session:") and not zerodha.session_token_encrypted
    (alert,) = Alert.objects.filter(execution=entry)
    assert "ZERODHA123" in alert.message
    assert not Order.objects.filter(execution=entry, broker_account=zerodha, status__in=["SENT", "UNKNOWN"]).exists()


def fake_net(fake) -> dict:
    net = {}
    for o in fake.orders():
        net[o["tradingsymbol"]] = net.get(o["tradingsymbol"], 0) + (o["filled"] if o["side"] == "BUY" else -o["filled"])
    return {symbol: quantity for symbol, quantity in net.items() if quantity}


def book_net(account) -> dict:
    net = {}
    for position in (
        Position.objects.filter(broker_account=account).exclude(net_quantity=0).select_related("instrument")
    ):
        symbol = position.instrument.broker_tokens[account.broker]["symbol"]
        net[symbol] = net.get(symbol, 0) + position.net_quantity
    return net


def test_hedges_that_rest_and_fill_late_and_in_parts_hold_back_only_their_own_shorts(
    live_condor, kite_fake, angel_fake
):
    """The hedges rest at both brokers: each short goes only once its own hedge (the BUY of its option type) has
    filled in full; partial and late fills, by postback and by poll, are booked exactly once."""
    traveller, zerodha, angel = live_condor
    kite_fake.control(fill_later=99, fill_later_side="BUY")  # the hedges rest; a short trades when it arrives
    angel_fake.control(fill_later=99, fill_later_side="BUY")
    entry = execution_run(execution_id=new_execution(condor_of(zerodha)).pk)
    assert Execution.objects.get(pk=entry.pk).status == "WORKING"
    orders = {(o.broker_account_id, o.leg_no): o for o in Order.objects.filter(execution=entry)}

    def order(account, leg_no):
        return Order.objects.get(pk=orders[(account.pk, leg_no)].pk)

    def at_fake(fake, account, leg_no):
        (row,) = [o for o in fake.orders() if o["tag"] == orders[(account.pk, leg_no)].tag]
        return row

    # Only the hedges reached the brokers; every short waits here, unsent.
    assert {o["side"] for o in kite_fake.orders() + angel_fake.orders()} == {"BUY"}
    assert {order(a, 1).status for a in (zerodha, angel)} == {"PENDING"}
    assert {order(a, 2).status for a in (zerodha, angel)} == {"OPEN"}

    # Zerodha's PUT hedge (3 lots) fills one lot late: Kite's postback books it, a poll after it books nothing more.
    kite_fake.fill(at_fake(kite_fake, zerodha, 2)["order_id"], quantity=65)
    assert wait_for(lambda: order(zerodha, 2).filled_quantity == 65)
    orders_sync_all()
    # Angel One's CALL hedge (4 lots) fills two lots late: the poll books it.
    angel_fake.fill(at_fake(angel_fake, angel, 4)["order_id"], quantity=130)
    orders_sync_all()
    orders_sync_all()
    assert (order(zerodha, 2).status, order(angel, 4).status) == ("PARTIAL", "PARTIAL")
    assert (order(zerodha, 2).fills.count(), order(angel, 4).fills.count()) == (1, 1)
    lifecycle.orders_work()
    assert {o["side"] for o in kite_fake.orders() + angel_fake.orders()} == {"BUY"}  # a part-filled hedge holds back

    # Zerodha's CALL hedge fills in full: its own short goes, the PUT short still waits for the PUT hedge.
    kite_fake.fill(at_fake(kite_fake, zerodha, 4)["order_id"])
    assert wait_for(lambda: order(zerodha, 4).status == "FILLED")
    lifecycle.orders_work()
    sells = [o for o in kite_fake.orders() if o["side"] == "SELL"]
    assert [o["tag"] for o in sells] == [orders[(zerodha.pk, 3)].tag]
    assert order(zerodha, 3).status == "FILLED" and order(zerodha, 1).status == "PENDING"
    assert not [o for o in angel_fake.orders() if o["side"] == "SELL"]

    # The rest of every hedge fills late; the remaining shorts go and the entry completes.
    kite_fake.fill()
    angel_fake.fill()
    assert wait_for(lambda: order(zerodha, 2).status == "FILLED")
    orders_sync_all()
    lifecycle.orders_work()
    orders_sync_all()
    lifecycle.orders_work()
    assert set(Order.objects.filter(execution=entry).values_list("status", flat=True)) == {"FILLED"}
    assert Execution.objects.get(pk=entry.pk).status == "COMPLETED"
    assert Counter(o["tag"] for o in kite_fake.orders() + angel_fake.orders()) == Counter(
        {o.tag: 1 for o in orders.values()}
    )  # each order reached its broker once

    # Every fill once, by postback and by poll, however often the word arrives: the books are the brokers'.
    orders_sync_all()
    for account, fake in ((zerodha, kite_fake), (angel, angel_fake)):
        orders_sync(account=account, results=adapter_for(account).orders_status())
        for o in fake.orders():
            mine = Order.objects.get(tag=o["tag"])
            assert sum(mine.fills.values_list("quantity", flat=True)) == o["filled"] == mine.quantity
        assert book_net(account) == fake_net(fake) and len(book_net(account)) == 4
    assert (order(zerodha, 2).fills.count(), order(angel, 4).fills.count()) == (2, 2)  # 65 + 130, 130 + 130
    assert not Alert.objects.filter(kind__in=["RECONCILIATION", "UNKNOWN_ORDER", "FAILED"]).exists()


def test_a_zerodha_entry_is_judged_by_kites_own_basket_margin(live_condor, kite_fake, angel_fake):
    """The margin limits of a Zerodha account use Kite's basket margin for the entry's legs together (POST
    /margins/basket); above max_margin_percent of its funds the account is skipped, with Kite's figure."""
    traveller, zerodha, angel = live_condor
    kite_fake.control(fill_later=0, fill_later_side="")
    angel_fake.control(fill_later=0, fill_later_side="")
    symbols = [i.tradingsymbol for i in Instrument.objects.filter(kind="OPTION")]
    kite_fake.control(ltp=dict.fromkeys(symbols, 2000))  # Kite's basket: 8 lots x 65 x 2000 = 1,040,000
    entry = execution_run(execution_id=new_execution(condor_of(zerodha)).pk)

    (asked,) = [r for r in kite_fake.requests() if r["path"] == "/margins/basket"]  # one call for the 4 legs
    assert sorted((o["transaction_type"], o["quantity"], o["product"]) for o in asked["fields"]["basket"]) == [
        ("BUY", 65, "NRML"), ("BUY", 195, "NRML"), ("SELL", 65, "NRML"), ("SELL", 195, "NRML")
    ]  # fmt: skip
    assert asked["fields"]["query"]["consider_positions"] == ["True"]
    assert kite_fake.orders() == []  # skipped before any order
    assert len(angel_fake.orders()) == 4  # Angel One (the platform's estimate) trades
    (zerodha_result,) = [
        b
        for b in Execution.objects.get(pk=entry.pk).execution_results["broker_executions"]
        if b["client_id"] == "ZERODHA123"
    ]
    assert "1040000.00" in str(zerodha_result) and "max_margin_percent" in str(zerodha_result)


def test_when_kite_does_not_answer_the_margin_the_platforms_estimate_decides(live_condor, kite_fake, angel_fake):
    traveller, zerodha, angel = live_condor
    kite_fake.control(fill_later=0, fill_later_side="", http_500=1)  # the basket margin call meets a 500
    angel_fake.control(fill_later=0, fill_later_side="")
    execution_run(execution_id=new_execution(condor_of(zerodha)).pk)
    paths = [r["path"] for r in kite_fake.requests()]  # the fake records only what it answered
    assert "/margins/basket" not in paths and "/user/margins" in paths
    assert len(kite_fake.orders()) == 4 and len(angel_fake.orders()) == 4
