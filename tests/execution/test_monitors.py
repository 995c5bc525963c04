"""Monitors with frozen time and the seeded paper market: stop-loss, daily loss, MIS square-off, stale feed,
reconciliation and the kill switch."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from brokers.models import BrokerAccount, PaperOrder
from execution.models import Alert, Execution, Order, Position
from execution.services import killswitch, monitors
from execution.services.placement import execution_run
from market.models import Instrument, Quote
from market.pricing import option_quote
from tests.factories import LegFactory, StrategyFactory

from .conftest import MONDAY_0930, make_chain, new_execution

pytestmark = pytest.mark.django_db(transaction=True)
LATER = MONDAY_0930 + dt.timedelta(minutes=5)


def reprice(spot, now):
    """The seeded model re-prices every contract at a new spot (what the feed writes each second)."""
    for quote in Quote.objects.select_related("instrument"):
        instrument = quote.instrument
        if instrument.kind == "INDEX":
            quote.ltp = quote.bid = quote.ask = Decimal(spot)
        else:
            sim = option_quote(spot=spot, strike=instrument.strike, option_type=instrument.option_type,
                               expiry=instrument.expiry, now=now, underlying="NIFTY")  # fmt: skip
            quote.ltp, quote.bid, quote.ask, quote.delta = sim.ltp, sim.bid, sim.ask, sim.delta
        quote.updated_at = now
        quote.save()


@pytest.fixture
def entered(frozen, condor, trader):
    """The condor (leg 1: short put, stop_loss 50) and a second strategy short the same put on ZERODHA123."""
    make_chain()
    condor.legs.filter(leg_no=1).update(stop_loss=50)
    other = StrategyFactory(owner=trader, strategy_name="Other short put")
    LegFactory(strategy=other, leg_no=1, transaction_type="SELL", leg_type="PUT", lots=1, entry_by="DELTA",
               strike_selection_config={"method": "DELTA", "delta_value": 0.2}, stop_loss=None)  # fmt: skip
    from allocations.models import Allocation

    Allocation.objects.create(
        strategy=other, broker_account=BrokerAccount.objects.get(client_id="ZERODHA123"), strategy_lots_multiplier=1
    )
    execution_run(execution_id=new_execution(condor).pk)
    execution_run(execution_id=new_execution(other).pk)
    return condor, other


def test_a_move_through_a_stop_loss_exits_exactly_that_leg_of_that_strategy(entered):
    condor, other = entered
    put = Order.objects.get(strategy=other).instrument
    assert Order.objects.filter(strategy=condor, leg_no=1, instrument=put).exists()  # the same contract
    frozen_spot = Decimal("25600")  # 400 points down: short puts gain far more than 50 points of premium

    with time_machine.travel(LATER, tick=False):
        reprice(frozen_spot, LATER)
        exits = monitors.stop_loss_check(now=LATER)
        again = monitors.stop_loss_check(now=LATER)
        for execution in exits:
            execution_run(execution_id=execution.pk)

    assert again == []
    assert {e.strategy_id for e in exits} == {condor.pk}
    exit_orders = Order.objects.filter(execution__trigger="MONITOR")
    assert sorted((o.broker_account.client_id, o.side, o.instrument_id, o.quantity) for o in exit_orders) == [
        ("ANGELONE456", "BUY", put.pk, 65),
        ("ZERODHA123", "BUY", put.pk, 195),
    ]
    assert Position.objects.get(strategy=other, instrument=put).net_quantity == -65  # untouched
    assert not Position.objects.filter(strategy=condor, instrument=put).exclude(net_quantity=0).exists()
    assert Position.objects.filter(strategy=condor).exclude(net_quantity=0).count() == 6  # other legs stay
    alert = Alert.objects.filter(kind="STOP_LOSS").first()
    assert alert and "crossed its stop" in alert.message
    assert exits[0].execution_results["trigger"]["ltp"] >= exits[0].execution_results["trigger"]["trigger_price"]


def test_a_small_move_triggers_no_stop_loss(entered):
    with time_machine.travel(LATER, tick=False):
        reprice(Decimal("25990"), LATER)
        assert monitors.stop_loss_check(now=LATER) == []


def test_a_stale_price_never_triggers_a_stop_loss(entered):
    with time_machine.travel(LATER, tick=False):
        reprice(Decimal("25600"), LATER - dt.timedelta(minutes=2))
        assert monitors.stop_loss_check(now=LATER) == []


def test_strategy_daily_loss_flattens_that_strategy_on_that_account(entered):
    condor, other = entered
    from allocations.models import Allocation

    Allocation.objects.filter(strategy=other).update(risk_limits={"max_daily_loss": 100})
    with time_machine.travel(LATER, tick=False):
        reprice(Decimal("25800"), LATER)
        exits = monitors.daily_loss_check(now=LATER)
    assert [e.strategy_id for e in exits] == [other.pk]
    assert Alert.objects.filter(kind="RISK", strategy=other).exists()


def test_account_daily_loss_blocks_new_entries(entered):
    BrokerAccount.objects.filter(client_id="ZERODHA123").update(max_daily_loss=1)
    with time_machine.travel(LATER, tick=False):
        reprice(Decimal("25700"), LATER)
        monitors.daily_loss_check(now=LATER)
    account = BrokerAccount.objects.get(client_id="ZERODHA123")
    assert account.entries_blocked and "max_daily_loss" in account.entries_blocked_reason


def test_mis_strategies_are_squared_off_at_the_cutoff(frozen, condor):
    make_chain()
    condor.product, condor.exit_days = "MIS", condor.entry_days
    condor.save()
    execution_run(execution_id=new_execution(condor).pk)
    before = MONDAY_0930.replace(hour=9, minute=40)  # 15:10 IST
    cutoff = MONDAY_0930.replace(hour=9, minute=46)  # 15:16 IST
    assert monitors.mis_square_off(now=before) == []
    with time_machine.travel(cutoff, tick=False):
        reprice(Decimal("26000"), cutoff)
        exits = monitors.mis_square_off(now=cutoff)
        assert monitors.mis_square_off(now=cutoff) == []
        execution_run(execution_id=exits[0].pk)
    assert not Position.objects.filter(strategy=condor).exclude(net_quantity=0).exists()


def test_a_stopped_feed_is_reported_and_limit_orders_refuse_to_price(frozen, condor, api, user):
    make_chain(now=MONDAY_0930 - dt.timedelta(seconds=30))
    condor.legs.update(order_type="LIMIT")
    assert monitors.stale_feed_check(now=MONDAY_0930) == ["NIFTY"]
    assert Alert.objects.filter(kind="STALE_FEED", owner=condor.owner).count() == 1
    monitors.stale_feed_check(now=MONDAY_0930)
    assert Alert.objects.filter(kind="STALE_FEED").count() == 1  # once per stale spell
    feeds = api.get("/api/v1/market/status/").json()["feeds"]
    assert feeds == [{"underlying": "NIFTY", "ltp": 26000.0, "updated_at": feeds[0]["updated_at"], "stale": True}]
    execution = execution_run(execution_id=new_execution(condor).pk)
    assert execution.status == "FAILED" and "stale" in execution.error
    assert not PaperOrder.objects.exists()


def test_orders_at_the_broker_that_the_books_do_not_explain_are_flagged_not_fixed(entered):
    zerodha = BrokerAccount.objects.get(client_id="ZERODHA123")
    PaperOrder.objects.create(
        account=zerodha,
        broker_order_id="PMANUAL1",
        tag="PLACEDBYHAND",
        instrument=Instrument.objects.filter(kind="OPTION").first(),
        side="SELL",
        quantity=65,
        order_type="MARKET",
        status="FILLED",
        filled_quantity=65,
        average_price=10,
    )
    orders_before = Order.objects.count()
    report = monitors.reconciliation_report(zerodha)
    assert not report["ok"]
    assert report["unknown_orders"][0]["tag"] == "PLACEDBYHAND"
    assert report["mismatches"][0]["broker_quantity"] - report["mismatches"][0]["book_quantity"] == -65
    assert monitors.duplicate_order_check(now=LATER) == 1
    assert monitors.duplicate_order_check(now=LATER) == 0  # not repeated while unacknowledged
    assert Order.objects.count() == orders_before


def test_kill_switch_blocks_entries_flattens_books_and_survives_a_restart(entered, trader):
    condor, other = entered
    zerodha = BrokerAccount.objects.get(client_id="ZERODHA123")
    exits = killswitch.kill_switch_engage(owner=trader, accounts=[zerodha], flatten=True, reason="drill", now=LATER)
    with time_machine.travel(LATER, tick=False):
        reprice(Decimal("26000"), LATER)
        for execution in exits:
            execution_run(execution_id=execution.pk)
    assert {e.strategy_id for e in exits} == {condor.pk, other.pk}
    assert not Position.objects.filter(broker_account=zerodha).exclude(net_quantity=0).exists()
    assert Position.objects.filter(broker_account__client_id="ANGELONE456").exclude(net_quantity=0).exists()
    zerodha.refresh_from_db()  # stored on the account: a restarted process reads the same
    assert zerodha.entries_blocked
    with time_machine.travel(LATER, tick=False):
        entry = execution_run(execution_id=new_execution(condor, due_at=LATER, trigger="MANUAL").pk)
    assert not Order.objects.filter(execution=entry, broker_account=zerodha).exists()
    killswitch.kill_switch_release(owner=trader, accounts=[zerodha])
    zerodha.refresh_from_db()
    assert not zerodha.entries_blocked


def test_kill_switch_api_for_the_account_and_for_the_user(frozen, condor, trader):
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(trader).access_token}")
    one = client.post("/api/v1/broker-accounts/ZERODHA123/kill-switch/", {"flatten": False}, format="json")
    assert one.status_code == 200 and one.json()["accounts"] == ["ZERODHA123"]
    everything = client.post("/api/v1/kill-switch/", {"flatten": True, "reason": "panic"}, format="json")
    assert sorted(everything.json()["accounts"]) == ["ANGELONE456", "ZERODHA123"]
    assert BrokerAccount.objects.filter(owner=trader, entries_blocked=True).count() == 2
    assert client.delete("/api/v1/kill-switch/").status_code == 200
    assert not BrokerAccount.objects.filter(owner=trader, entries_blocked=True).exists()
    assert client.post("/api/v1/kill-switch/", {"flatten": "yes"}, format="json").status_code == 400
    assert Execution.objects.filter(trigger="MONITOR").count() == 0  # nothing was open to flatten


def test_the_feed_checks_stop_losses_on_every_cycle(trader):
    """run_feed writes fresh prices and then checks stop-losses, so a stop fires within a second, not a minute."""
    from django.core.management import call_command

    from tests.factories import BrokerAccountFactory

    # The feed loop sleeps between cycles, so the pinned clock ticks; the chain's expiries come after it.
    with time_machine.travel(MONDAY_0930, tick=True):
        make_chain(now=MONDAY_0930)
        strategy = StrategyFactory(owner=trader)
        leg = LegFactory(strategy=strategy, leg_no=1, transaction_type="SELL", leg_type="PUT", stop_loss=1)
        account = BrokerAccountFactory(owner=trader)
        put = Instrument.objects.get(tradingsymbol="NIFTY26120125900PE")
        entry = new_execution(strategy, due_at=MONDAY_0930, trigger="MANUAL")
        Order.objects.create(execution=entry, strategy=strategy, broker_account=account, leg=leg, leg_no=1,
                             instrument=put, side="SELL", lots=1, quantity=65, tag="OPSLFEED1", status="FILLED")  # fmt: skip
        # sold at 0.05: any fresh price is more than 1 point against the short
        Position.objects.create(
            strategy=strategy, broker_account=account, instrument=put, net_quantity=-65, average_price="0.05"
        )

        call_command("run_feed", cycles=1, interval=0.05, seed=7)

    exit_ = Execution.objects.get(trigger="MONITOR")
    assert exit_.scope["positions"] == [Position.objects.get(strategy=strategy).pk]
    assert exit_.execution_results["trigger"]["kind"] == "STOP_LOSS"
