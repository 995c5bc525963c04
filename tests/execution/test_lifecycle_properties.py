"""A property test of the order lifecycle on PostgreSQL: random fills, partial fills, rejects, timeouts, illiquid
legs and market delays on two accounts, through a scheduled entry and exit driven second by second.

Whatever happens, these hold:
- every fill the broker reports is booked exactly once (keyed by the broker's fill id);
- no order is placed twice (one broker order per tag; the paper broker refuses a second one anyway);
- after sync, each account's books equal what its broker holds (reconciliation is clean);
- no account ends an entry net short an option type more than its hedge covers;
- an exit leaves the strategy flat, or raises a critical alert naming what is still open.

HYPOTHESIS_EXAMPLES (default 12) sets how many random days it plays."""

import datetime as dt
import os
from decimal import Decimal

import pytest
import time_machine
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brokers.models import BrokerAccount, PaperFault, PaperOrder
from execution.models import Alert, Execution, Fill, Order, OrderEvent, Position
from execution.services import monitors
from execution.services.lifecycle import orders_work
from execution.services.placement import execution_run
from execution.services.reconciliation import orders_reconcile
from market.models import Quote
from strategies.models import Strategy
from tests.factories import UserFactory, iron_condor

from .conftest import MONDAY_0930, allocate_seed_001, make_chain, new_execution

pytestmark = pytest.mark.django_db(transaction=True)

STRIKES = {
    1: {"method": "DELTA", "delta_value": 0.2},
    2: {"method": "STRIKE_DISTANCE", "strike_distance": 500},
    3: {"method": "DELTA", "delta_value": 0.2},
    4: {"method": "STRIKE_DISTANCE", "strike_distance": 500},
}
FAULTS = st.tuples(
    st.sampled_from(["REJECT", "PARTIAL", "TIMEOUT", "TIMEOUT_AFTER_PLACE", "ILLIQUID"]),
    st.sampled_from(["", "BUY", "SELL"]),
    st.integers(min_value=1, max_value=2),
)
DAY = st.fixed_dictionaries(
    {
        "faults": st.lists(st.tuples(st.sampled_from(["ZERODHA123", "ANGELONE456"]), FAULTS), max_size=3),
        "order_types": st.lists(st.sampled_from(["LIMIT", "MARKET"]), min_size=4, max_size=4),
        "on_failed_entry": st.sampled_from(["UNWIND", "KEEP"]),
        "cross_chance": st.sampled_from([0.0, 0.2, 0.6]),  # how often a resting order's market comes to it
        "hold": st.integers(min_value=1, max_value=20),  # seconds between the entry settling and the exit
    }
)


@pytest.fixture
def market(transactional_db, settings):
    settings.EXECUTION_PARALLEL_ACCOUNTS = False
    settings.QUOTE_STALE_SECONDS = 3600  # the simulated feed below restamps quotes; a long run must not stale
    with time_machine.travel(MONDAY_0930, tick=False):
        make_chain()
    return {q.pk: (q.ltp, q.bid, q.ask) for q in Quote.objects.all()}


def _restore(quotes):
    for quote in Quote.objects.all():
        quote.ltp, quote.bid, quote.ask = quotes[quote.pk]
        quote.updated_at = MONDAY_0930
        quote.save()


def _cross_some(rnd, chance):
    """The market moves to some resting limit orders (they fill on the next status call)."""
    for order in PaperOrder.objects.filter(status__in=["OPEN", "PARTIAL"], order_type="LIMIT"):
        if rnd.random() < chance:
            quote = Quote.objects.get(instrument_id=order.instrument_id)
            if order.side == "BUY":
                quote.ask = min(quote.ask, order.limit_price)
            else:
                quote.bid = max(quote.bid, order.limit_price)
            quote.save()


def _drive(traveller, execution, rnd, chance, seconds=300):
    """Seconds of the platform: feed restamp, sync + chase every second, the tick's reconciliation every 10."""
    for second in range(seconds):
        execution.refresh_from_db()
        if execution.status != Execution.Status.WORKING:
            return execution
        traveller.shift(dt.timedelta(seconds=1))
        _cross_some(rnd, chance)
        Quote.objects.update(updated_at=timezone.now())
        orders_work()
        if second % 10 == 9:
            orders_reconcile(now=timezone.now())
    execution.refresh_from_db()
    return execution


def _assert_books_follow_the_broker(strategy):
    accounts = BrokerAccount.objects.filter(allocations__strategy=strategy)
    # Every broker fill booked once, and only broker fills are booked.
    broker_fills = {
        (order.account_id, fill["id"]): fill["quantity"] for order in PaperOrder.objects.all() for fill in order.fills
    }
    booked = list(Fill.objects.values_list("broker_account_id", "broker_fill_id", "quantity"))
    assert len(booked) == len({(a, f) for a, f, _ in booked}), "a broker fill was booked twice"
    assert {(a, f): q for a, f, q in booked} == broker_fills
    # No order placed twice: one broker order per platform tag, and never a refusal for a repeated tag.
    tags = list(PaperOrder.objects.values_list("account_id", "tag"))
    assert len(tags) == len(set(tags))
    assert not Order.objects.filter(error__contains="already exists").exists()
    assert set(PaperOrder.objects.values_list("tag", flat=True)) <= set(Order.objects.values_list("tag", flat=True))
    for order in Order.objects.all():
        total = order.fills.aggregate(q=Sum("quantity"))["q"] or 0
        assert total == order.filled_quantity, (order.tag, order.status, total, order.filled_quantity)
        events = list(order.events.values_list("to_status", flat=True))
        assert not events or events[-1] == order.status, (order.tag, events, order.status)
    for account in accounts:
        report = monitors.reconciliation_report(account)
        assert report["ok"], report


def _assert_covered(strategy):
    """No account is net short an option type beyond what its long legs of that type cover."""
    net: dict = {}
    for position in Position.objects.filter(strategy=strategy).select_related("instrument"):
        key = (position.broker_account_id, position.instrument.option_type)
        shorts, longs = net.get(key, (0, 0))
        if position.net_quantity < 0:
            shorts -= position.net_quantity
        else:
            longs += position.net_quantity
        net[key] = (shorts, longs)
    for key, (shorts, longs) in net.items():
        assert shorts <= longs, (key, shorts, longs)


def _cleanup():
    OrderEvent.objects.all().delete()
    Fill.objects.all().delete()
    Position.objects.all().delete()
    Alert.objects.all().delete()
    Order.objects.all().delete()
    Execution.objects.all().delete()
    PaperOrder.objects.all().delete()
    PaperFault.objects.all().delete()
    from allocations.models import Allocation

    Allocation.objects.all().delete()
    Strategy.objects.all().delete()
    BrokerAccount.objects.all().delete()


@settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "12")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(day=DAY, rnd=st.randoms(use_true_random=False))
def test_whatever_the_broker_does_the_books_follow_it_and_the_exit_ends_flat_or_alerts(market, day, rnd):
    _restore(market)
    try:
        with time_machine.travel(MONDAY_0930, tick=False) as traveller:
            owner = UserFactory()
            strategy = iron_condor(owner=owner)
            strategy.on_failed_entry = day["on_failed_entry"]
            strategy.save()
            for leg, order_type in zip(strategy.legs.order_by("leg_no"), day["order_types"], strict=True):
                leg.order_type = order_type
                leg.strike_selection_config = STRIKES[leg.leg_no]
                leg.entry_by = STRIKES[leg.leg_no]["method"]
                leg.save()
            allocate_seed_001(strategy, owner)
            for client_id, (kind, side, remaining) in day["faults"]:
                PaperFault.objects.create(
                    account=BrokerAccount.objects.get(owner=owner, client_id=client_id),
                    kind=kind,
                    side=side,
                    remaining=remaining,
                    fill_ratio=Decimal("0.5"),
                )

            entry = execution_run(execution_id=new_execution(strategy).pk)
            entry = _drive(traveller, entry, rnd, day["cross_chance"])
            assert entry.status != Execution.Status.WORKING, entry.error
            _assert_books_follow_the_broker(strategy)
            _assert_covered(strategy)

            traveller.shift(dt.timedelta(seconds=day["hold"]))
            exit_at = timezone.now()
            exit_ = execution_run(execution_id=new_execution(strategy, "EXIT", due_at=exit_at).pk)
            exit_ = _drive(traveller, exit_, rnd, day["cross_chance"])
            assert exit_.status != Execution.Status.WORKING, exit_.error
            _assert_books_follow_the_broker(strategy)
            _assert_covered(strategy)
            still_open = Position.objects.filter(strategy=strategy).exclude(net_quantity=0)
            if still_open.exists():
                alert = Alert.objects.filter(execution=exit_, severity="CRITICAL").first()
                assert alert is not None, list(still_open.values_list("instrument__tradingsymbol", "net_quantity"))
                assert "still open" in alert.message
            else:
                assert exit_.status in (Execution.Status.COMPLETED, Execution.Status.PARTIAL), exit_.error
    finally:
        _cleanup()
