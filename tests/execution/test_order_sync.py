"""Order sync and the paper broker's resting orders: late fills reach the books once, through one entry point."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from brokers.adapters.base import BrokerError, FillReport, OrderRequest, OrderResult, adapter_for
from brokers.models import BrokerAccount, PaperOrder
from execution.models import Fill, Order, OrderEvent, Position
from execution.services import monitors
from execution.services.sync import orders_sync, orders_sync_all
from market.models import Instrument, Quote

from .conftest import MONDAY_0930, make_chain, new_execution

pytestmark = pytest.mark.django_db(transaction=True)


def paper_order(account, instrument, *, tag="T1", side="BUY", quantity=65, limit="1.00"):
    broker = adapter_for(account)
    return broker.place_order(
        OrderRequest(
            tag=tag,
            instrument_id=instrument.pk,
            exchange="NFO",
            tradingsymbol=instrument.tradingsymbol,
            side=side,
            quantity=quantity,
            order_type="LIMIT",
            limit_price=Decimal(limit),
            product="NRML",
        )  # fmt: skip
    )


def cross(instrument, *, side, price):
    """Move the quote so that a resting order at `price` is now marketable."""
    quote = Quote.objects.get(instrument=instrument)
    price = Decimal(price)
    if side == "BUY":
        quote.ask, quote.bid = price, price - Decimal("0.05")
    else:
        quote.bid, quote.ask = price, price + Decimal("0.05")
    quote.ltp, quote.updated_at = price, MONDAY_0930
    quote.save()


@pytest.fixture
def resting(frozen, condor):
    """The condor entered with LIMIT legs priced at the last traded price: the BUYs rest OPEN at the broker."""
    make_chain()
    condor.legs.update(order_type="LIMIT")
    from execution.services.placement import execution_run

    execution = execution_run(execution_id=new_execution(condor).pk)
    return execution


def test_paper_broker_reports_cancels_and_modifies_its_orders(frozen, condor):
    make_chain()
    account = BrokerAccount.objects.get(client_id="ZERODHA123")
    instrument = Instrument.objects.get(tradingsymbol="NIFTY26112425500PE")
    placed = paper_order(account, instrument, limit="0.05")
    assert placed.status == "OPEN" and placed.tag == "T1" and placed.quantity == 65
    broker = adapter_for(account)
    assert [(r.tag, r.status, r.limit_price) for r in broker.orders_status()] == [("T1", "OPEN", Decimal("0.05"))]

    ask = Quote.objects.get(instrument=instrument).ask
    modified = broker.modify_order(placed.broker_order_id, limit_price=ask)
    assert modified.status == "FILLED" and modified.filled_quantity == 65 and modified.limit_price == ask
    assert [f.fill_id for f in modified.fills] == [f"{placed.broker_order_id}-1"]
    assert broker.cancel_order(placed.broker_order_id).status == "FILLED"  # the fill beat the cancel

    second = paper_order(account, instrument, tag="T2", limit="0.05")
    assert broker.cancel_order(second.broker_order_id).status == "CANCELLED"
    with pytest.raises(BrokerError, match="is CANCELLED"):
        broker.modify_order(second.broker_order_id, limit_price=ask)
    with pytest.raises(BrokerError, match="no order"):
        broker.cancel_order("NOSUCH")


def test_a_market_order_with_protection_never_fills_beyond_its_cap(frozen, condor):
    make_chain()
    account = BrokerAccount.objects.get(client_id="ZERODHA123")
    instrument = Instrument.objects.get(tradingsymbol="NIFTY26112425500PE")
    placed = paper_order(account, instrument, limit="0.05")
    broker = adapter_for(account)
    assert broker.modify_order(placed.broker_order_id, order_type="MARKET", limit_price=Decimal("0.05")).status == (
        "OPEN"
    )
    ask = Quote.objects.get(instrument=instrument).ask
    filled = broker.modify_order(placed.broker_order_id, order_type="MARKET", limit_price=ask * 2)
    assert filled.status == "FILLED" and filled.average_price <= ask * 2


def test_resting_limit_orders_fill_later_through_order_sync_and_are_booked_once(resting):
    working = Order.objects.filter(execution=resting, status="OPEN")
    assert working.exists(), "LIMIT BUYs at the last price rest at the paper broker"
    for order in working:
        cross(order.instrument, side=order.side, price=order.limit_price)

    report = orders_sync_all()
    assert report.changed == working.count() == report.fills
    assert orders_sync_all().changed == 0  # nothing moved since: nothing written, nothing booked again

    for order in Order.objects.filter(execution=resting, side="BUY"):
        assert order.status == "FILLED", order
        assert order.fills.count() == 1
        event = order.events.last()
        assert (event.from_status, event.to_status, event.source) == ("OPEN", "FILLED", "poll")
    held = {p.instrument_id: p.net_quantity for p in Position.objects.filter(strategy=resting.strategy)}
    bought = Order.objects.filter(execution=resting, side="BUY")
    for order in bought:
        assert held[order.instrument_id] > 0
    assert Fill.objects.count() == len({f for f in Fill.objects.values_list("broker_account", "broker_fill_id")})


def test_a_push_and_a_poll_of_the_same_fill_book_it_once(resting):
    order = Order.objects.filter(execution=resting, status="OPEN").first()
    push = OrderResult(
        broker_order_id=order.broker_order_id,
        status="FILLED",
        filled_quantity=order.quantity,
        average_price=order.limit_price,
        fills=[
            FillReport(
                fill_id=f"{order.broker_order_id}-1", quantity=order.quantity, price=order.limit_price, at=MONDAY_0930
            )
        ],  # fmt: skip
        tag=order.tag,
        quantity=order.quantity,
        limit_price=order.limit_price,
    )
    assert orders_sync(account=order.broker_account, results=[push], source="push").fills == 1
    # The paper broker itself fills it as the quote crosses: the same fill id, reported by the poll.
    cross(order.instrument, side=order.side, price=order.limit_price)
    assert orders_sync(account=order.broker_account).fills == 0
    order.refresh_from_db()
    assert order.status == "FILLED" and order.fills.count() == 1
    assert list(order.events.values_list("source", flat=True)).count("push") == 1


def test_reconciliation_syncs_first_so_a_late_fill_is_booked_not_flagged(resting):
    for order in Order.objects.filter(execution=resting, status="OPEN"):
        cross(order.instrument, side=order.side, price=order.limit_price)
    for account in BrokerAccount.objects.all():
        report = monitors.reconciliation_report(account)
        assert report["ok"], report
    assert OrderEvent.objects.filter(source="reconcile", to_status="FILLED").exists()


def test_an_account_whose_broker_fails_does_not_stop_the_others_syncing(resting, monkeypatch):
    from brokers.adapters import paper

    real = paper.PaperBroker.orders_status

    def flaky(self):
        if self.account.client_id == "ZERODHA123":
            raise BrokerError("session expired")
        return real(self)

    monkeypatch.setattr(paper.PaperBroker, "orders_status", flaky)
    for order in Order.objects.filter(execution=resting, status="OPEN"):
        cross(order.instrument, side=order.side, price=order.limit_price)
    orders_sync_all()
    assert not Order.objects.filter(broker_account__client_id="ANGELONE456", side="BUY", status="OPEN").exists()
    assert Order.objects.filter(broker_account__client_id="ZERODHA123", side="BUY", status="OPEN").exists()


def test_orders_of_an_earlier_day_are_not_reported(frozen, condor):
    make_chain()
    account = BrokerAccount.objects.get(client_id="ZERODHA123")
    instrument = Instrument.objects.get(tradingsymbol="NIFTY26112425500PE")
    paper_order(account, instrument, limit="0.05")
    with time_machine.travel(MONDAY_0930 + dt.timedelta(days=1), tick=False):
        assert adapter_for(account).orders_status() == []
    assert PaperOrder.objects.count() == 1


def test_the_execution_page_shows_each_orders_timeline(resting, client, trader):
    order = Order.objects.filter(execution=resting, status="OPEN").first()
    cross(order.instrument, side=order.side, price=order.limit_price)
    orders_sync_all()
    assert list(order.events.values_list("from_status", "to_status", "source")) == [
        ("PENDING", "SENT", "placement"),
        ("SENT", "OPEN", "placement"),
        ("OPEN", "FILLED", "poll"),
    ]
    client.force_login(trader)
    page = client.get(f"/executions/{resting.pk}/").content.decode()
    assert f'aria-label="Timeline of {order.tag}"' in page
    timeline = page.split(f'aria-label="Timeline of {order.tag}"')[1].split("</ol>")[0]
    assert "PENDING → <strong>SENT</strong>" in timeline and "(placement)" in timeline
    assert "OPEN → <strong>FILLED</strong>" in timeline and "(poll)" in timeline


def test_another_users_execution_page_is_404(resting, client):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="someone-else"))
    assert client.get(f"/executions/{resting.pk}/").status_code == 404


def test_a_placement_answer_older_than_a_poll_never_takes_an_order_back(frozen, condor, monkeypatch):
    """The broker's answer to a placement can arrive after a poll (or a push) has already booked a later state:
    the answer says OPEN, the order has FILLED meanwhile. The later state stays; the fill is booked once."""
    from brokers.adapters import paper
    from execution.services.placement import execution_run

    make_chain()
    condor.legs.update(order_type="MARKET")
    original = paper.PaperBroker.place_orders

    def answer_after_a_poll(self, requests):
        answers = original(self, requests)  # the exchange has filled them
        orders_sync(account=self.account)  # a poll books the fills before the answer returns
        return [
            OrderResult(broker_order_id=a.broker_order_id, status="OPEN", filled_quantity=0, tag=a.tag)
            if isinstance(a, OrderResult)
            else a
            for a in answers
        ]  # a stale answer: what the broker said at first

    monkeypatch.setattr(paper.PaperBroker, "place_orders", answer_after_a_poll)
    execution = execution_run(execution_id=new_execution(condor).pk)

    orders = Order.objects.filter(execution=execution)
    assert set(orders.values_list("status", flat=True)) == {"FILLED"}
    assert execution.status == "COMPLETED", execution.error
    assert not OrderEvent.objects.filter(order__execution=execution, source="placement", to_status="OPEN").exists()
    for order in orders:
        assert Fill.objects.filter(order=order).count() == 1
    assert all(monitors.reconciliation_report(a)["ok"] for a in BrokerAccount.objects.all())
