"""A burst of 60 orders on one account, through the scheduled path: fifteen condors due at 09:30 on one Zerodha
and one Angel One account, materialized and enqueued by the minute tick, their run_batch messages taken off the
queue and run at once (as four workers would run them), against the loopback fakes. Each order reaches its
broker exactly once, never faster than the broker allows, every short after its own hedge, and the books end as
the brokers hold them."""

import datetime as dt
import threading
import time
from collections import Counter

import pytest
import redis
import time_machine
from celery import current_app
from django.db import connection

from allocations.models import Allocation
from brokers import sessions
from brokers.ratelimit import bucket_key
from execution import tasks
from execution.models import Execution, Fill, Order, Position
from market.models import Instrument
from tests.brokers.conftest import ANGEL, KITE
from tests.brokers.test_live_e2e import angel_symbol
from tests.brokers.test_ratelimit import most_in_any_window
from tests.execution.conftest import make_chain
from tests.factories import BrokerAccountFactory, iron_condor

pytestmark = pytest.mark.django_db(transaction=True)

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
TICK = dt.datetime(2026, 11, 23, 9, 29, 57, tzinfo=IST)  # the beat's tick just before the 09:30 entries
DUE = dt.datetime(2026, 11, 23, 9, 30, tzinfo=IST)
CONDORS = 15  # x 4 legs x 1 lot = 60 orders on each account
STRIKES = {
    1: {"method": "DELTA", "delta_value": 0.2},
    2: {"method": "STRIKE_DISTANCE", "strike_distance": 500},
    3: {"method": "DELTA", "delta_value": 0.2},
    4: {"method": "STRIKE_DISTANCE", "strike_distance": 500},
}
PLACE = {"ZERODHA": ("POST", "/orders/regular"), "ANGELONE": ("POST", "/rest/secure/angelbroking/order/v1/placeOrder")}


@pytest.fixture
def burst(trader, kite_fake, angel_fake, live_settings):
    live_settings.BROKER_CALL_TIMEOUT_SECONDS = 10  # the production deadline
    with time_machine.travel(TICK, tick=True) as traveller:
        make_chain(now=TICK)
        for instrument in Instrument.objects.filter(kind="OPTION"):
            instrument.broker_tokens = {
                "PAPER": instrument.tradingsymbol,
                "ZERODHA": {"symbol": instrument.tradingsymbol, "token": str(9_000_000 + instrument.pk)},
                "ANGELONE": {"symbol": angel_symbol(instrument), "token": str(40_000 + instrument.pk)},
            }
            instrument.save(update_fields=["broker_tokens"])
        zerodha = BrokerAccountFactory(owner=trader, client_id="ZBURST1", broker="ZERODHA", algo_id="ALGO42")
        zerodha.credentials = KITE
        zerodha.save()
        kite_fake.control(issue_tokens=["tok-burst"])
        sessions.session_save(account=zerodha, tokens={"access_token": "tok-burst"})
        angel = BrokerAccountFactory(owner=trader, client_id="A123456", broker="ANGELONE")
        angel.credentials = ANGEL
        angel.save()
        angel_fake.control(clock=time.time())
        for _ in range(CONDORS):
            strategy = iron_condor(owner=trader, base_lots=(1, 1, 1, 1))
            for leg in strategy.legs.all():
                leg.strike_selection_config, leg.entry_by = STRIKES[leg.leg_no], STRIKES[leg.leg_no]["method"]
                leg.save()
            for priority, account in enumerate((zerodha, angel), 1):
                Allocation.objects.create(
                    strategy=strategy, broker_account=account, strategy_lots_multiplier=1, priority=priority
                )
        client = redis.Redis.from_url(live_settings.REDIS_URL)
        for account in (zerodha, angel):
            client.delete(bucket_key(account.broker, account.pk))
        yield traveller, zerodha, angel, client
        for account in (zerodha, angel):
            client.delete(bucket_key(account.broker, account.pk))


def queued_messages() -> list:
    """Every message waiting on the (in-memory) Celery queue, taken off it: (task name, args, eta)."""
    taken = []
    with current_app.connection_for_read() as conn:
        queue = conn.SimpleQueue(current_app.conf.task_default_queue, no_ack=True)
        try:
            while True:
                try:
                    message = queue.get(block=False)
                except queue.Empty:
                    break
                args = message.payload[0]
                taken.append((message.headers["task"], args, message.headers.get("eta")))
        finally:
            queue.close()
    return taken


def run_as_workers(messages: list) -> list:
    """Run each run_batch message in its own thread, all at once, as that many workers would; their errors."""
    errors = []

    def work(name, args):
        try:
            current_app.tasks[name](*args)
        except Exception as exc:  # reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(name, args)) for name, args, _ in messages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_a_scheduled_burst_of_60_orders_per_account_keeps_each_brokers_limit_and_books_each_order_once(
    burst, kite_fake, angel_fake
):
    traveller, zerodha, angel, client = burst
    queued_messages()  # nothing another test left behind
    tasks.tick()  # the beat's minute tick: materialize, batch, enqueue
    messages = queued_messages()
    assert Execution.objects.filter(status="SCHEDULED").count() == CONDORS
    assert sorted(len(Execution.objects.filter(batch=args[0])) for _, args, _ in messages) == [1, 2, 4, 8]
    assert {name for name, _, _ in messages} == {"execution.tasks.run_batch"}

    traveller.move_to(DUE)  # the messages' ETA
    assert run_as_workers(messages) == []

    assert set(Execution.objects.values_list("status", flat=True)) == {"COMPLETED"}
    for account, fake, per_second in ((zerodha, kite_fake, 10), (angel, angel_fake, 20)):
        mine = {o.tag: o for o in Order.objects.filter(broker_account=account).select_related("instrument")}
        assert len(mine) == 60 and {o.status for o in mine.values()} == {"FILLED"}
        at_fake = fake.orders()
        assert Counter(o["tag"] for o in at_fake) == Counter({tag: 1 for tag in mine})  # each order exactly once
        method, path = PLACE[account.broker]
        placed = [r for r in fake.requests() if (r["method"], r["path"]) == (method, path)]
        assert len(placed) == 60  # none resent
        arrivals = [r["at"] for r in placed]
        assert most_in_any_window(arrivals, 0.9) <= per_second
        assert max(arrivals) - min(arrivals) >= 60 / per_second - 1.5  # the limiter spread them out
        admitted = [
            score / 1000 for _, score in client.zrange(bucket_key(account.broker, account.pk), 0, -1, withscores=True)
        ]
        assert len(admitted) == 60 and most_in_any_window(admitted, 1.1) <= per_second
        print(f"{account.broker}: 60 orders in {max(arrivals) - min(arrivals):.2f} s, at most "
              f"{most_in_any_window(arrivals, 1.0)} in any second")  # fmt: skip

        # Each short reached the broker after its own hedge (the BUY of its option type in its execution) filled.
        sent_at = {r["fields"].get("tag") or r["fields"].get("ordertag"): r["at"] for r in placed}
        for order in mine.values():
            if order.side == "SELL":
                (hedge,) = [
                    o
                    for o in mine.values()
                    if o.execution_id == order.execution_id
                    and o.side == "BUY"
                    and o.instrument.option_type == order.instrument.option_type
                ]
                assert sent_at[hedge.tag] < sent_at[order.tag]

        # The books are the broker's: net per contract and every fill once.
        fake_net = Counter()
        for o in at_fake:
            fake_net[o["tradingsymbol"]] += o["filled"] if o["side"] == "BUY" else -o["filled"]
        book = Counter()
        for position in Position.objects.filter(broker_account=account).select_related("instrument"):
            symbol = position.instrument.broker_tokens[account.broker]["symbol"]
            book[symbol] += position.net_quantity
        assert +book == +fake_net and -book == -fake_net
        assert Fill.objects.filter(broker_account=account).count() == 60
        filled = {o["tag"]: o["filled"] for o in at_fake}
        for tag, order in mine.items():
            assert sum(order.fills.values_list("quantity", flat=True)) == filled[tag] == order.quantity
