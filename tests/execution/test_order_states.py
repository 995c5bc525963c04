"""The order state machine: every change validated and recorded as an event with its time and source."""

import pytest

from execution.models import Order, OrderEvent
from execution.services import orders
from tests.factories import BrokerAccountFactory

from .conftest import MONDAY_0930, make_chain, new_execution

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(frozen, condor):
    make_chain()
    execution = new_execution(condor)
    from market.models import Instrument

    return Order.objects.create(
        execution=execution,
        strategy=condor,
        broker_account=BrokerAccountFactory(owner=condor.owner, client_id="PAPER1"),
        leg_no=1,
        instrument=Instrument.objects.filter(kind="OPTION").first(),
        side="BUY",
        lots=3,
        quantity=195,
        order_type="LIMIT",
        limit_price="10.00",
        tag="TESTTAG1",
    )


def test_a_resting_order_that_fills_in_parts_has_one_event_per_change(order):
    orders.order_transition(order, "SENT", source="placement")
    orders.order_transition(order, "OPEN", source="placement")
    orders.order_transition(order, "PARTIAL", source="poll", filled_quantity=65, average_price="10.00")
    orders.order_transition(order, "PARTIAL", source="push", filled_quantity=130, average_price="10.00")
    orders.order_transition(order, "FILLED", source="poll", filled_quantity=195, average_price="10.05")

    timeline = list(OrderEvent.objects.filter(order=order).values_list("from_status", "to_status", "source",
                                                                       "filled_quantity"))  # fmt: skip
    assert timeline == [
        ("PENDING", "SENT", "placement", 0),
        ("SENT", "OPEN", "placement", 0),
        ("OPEN", "PARTIAL", "poll", 65),
        ("PARTIAL", "PARTIAL", "push", 130),
        ("PARTIAL", "FILLED", "poll", 195),
    ]
    order.refresh_from_db()
    assert (order.status, order.filled_quantity, str(order.average_price)) == ("FILLED", 195, "10.05")
    assert all(event.at == MONDAY_0930 for event in OrderEvent.objects.filter(order=order))


def test_the_same_report_twice_records_nothing_the_second_time(order):
    orders.order_transition(order, "SENT", source="placement")
    assert orders.order_transition(order, "SENT", source="poll") is None
    assert OrderEvent.objects.filter(order=order).count() == 1


@pytest.mark.parametrize("terminal", ["FILLED", "CANCELLED", "REJECTED"])
def test_no_order_leaves_a_terminal_state(order, terminal):
    orders.order_transition(order, "SENT", source="placement")
    filled = 195 if terminal == "FILLED" else 0
    orders.order_transition(order, terminal, source="poll", filled_quantity=filled)
    with pytest.raises(orders.TransitionError, match=f"{terminal} -> OPEN is not allowed"):
        orders.order_transition(order, "OPEN", source="poll")
    order.refresh_from_db()
    assert order.status == terminal
    assert OrderEvent.objects.filter(order=order).count() == 2


def test_a_fill_never_goes_backwards_nor_beyond_the_quantity(order):
    orders.order_transition(order, "SENT", source="placement")
    orders.order_transition(order, "PARTIAL", source="poll", filled_quantity=130)
    with pytest.raises(orders.TransitionError, match="cannot go back"):
        orders.order_transition(order, "PARTIAL", source="poll", filled_quantity=65)
    with pytest.raises(orders.TransitionError, match="exceeds its quantity"):
        orders.order_transition(order, "PARTIAL", source="poll", filled_quantity=260)
    with pytest.raises(orders.TransitionError, match="FILLED with 130 of 195"):
        orders.order_transition(order, "FILLED", source="poll")
    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == ("PARTIAL", 130)


def test_an_unknown_outcome_resolves_once_the_broker_is_asked(order):
    orders.order_transition(order, "SENT", source="placement")
    orders.order_transition(order, "UNKNOWN", source="placement", detail="timed out")
    orders.order_transition(order, "FILLED", source="reconcile", filled_quantity=195)
    assert list(OrderEvent.objects.filter(order=order).values_list("to_status", "source")) == [
        ("SENT", "placement"),
        ("UNKNOWN", "placement"),
        ("FILLED", "reconcile"),
    ]


def test_an_unknown_source_is_refused(order):
    with pytest.raises(orders.TransitionError, match="unknown event source"):
        orders.order_transition(order, "SENT", source="magic")


def test_a_chase_modify_is_an_event_of_its_own(order):
    orders.order_transition(order, "SENT", source="placement")
    orders.order_transition(order, "OPEN", source="placement")
    orders.order_transition(order, "OPEN", source="chase", limit_price="10.50", detail="modified to the touch")
    event = OrderEvent.objects.filter(order=order).last()
    assert (event.from_status, event.to_status, str(event.price), event.detail) == (
        "OPEN",
        "OPEN",
        "10.50",
        "modified to the touch",
    )
