"""One account's failure is that account's skip reason; the others trade. The pre-trade daily-loss check
counts today's realized plus unrealized P&L, like the monitor."""

import datetime as dt

import pytest

from allocations.models import Allocation
from brokers.adapters import paper
from brokers.models import BrokerAccount
from execution.models import Execution, Order, Position
from execution.services import plan
from execution.services.placement import execution_run
from market.models import Instrument

from .conftest import MONDAY_0930, make_chain, new_execution

pytestmark = pytest.mark.django_db(transaction=True)


def results_of(execution):
    return {b["client_id"]: b for b in execution.execution_results["broker_executions"]}


def assert_only_zerodha_traded(execution, reason):
    brokers = results_of(execution)
    assert brokers["ANGELONE456"]["status"] == "SKIPPED"
    assert reason in brokers["ANGELONE456"]["reason"], brokers["ANGELONE456"]["reason"]
    assert brokers["ZERODHA123"]["status"] == "COMPLETED"
    assert not Order.objects.filter(broker_account__client_id="ANGELONE456").exists()
    assert set(Order.objects.filter(broker_account__client_id="ZERODHA123").values_list("status", flat=True)) == {
        "FILLED"
    }


@pytest.mark.parametrize("error", [RuntimeError("funds service crashed"), paper.BrokerError("session expired")])
def test_an_account_whose_funds_lookup_fails_is_skipped_and_the_other_trades(frozen, condor, monkeypatch, error):
    make_chain()
    Allocation.objects.update(risk_limits={"max_margin_utilization": 90})
    funds = paper.PaperBroker.available_funds

    def available_funds(self):
        if self.account.client_id == "ANGELONE456":
            raise error
        return funds(self)

    monkeypatch.setattr(paper.PaperBroker, "available_funds", available_funds)
    execution = execution_run(execution_id=new_execution(condor).pk)
    assert execution.status == Execution.Status.PARTIAL
    assert_only_zerodha_traded(execution, "available funds of ANGELONE456 unknown")


def test_an_account_without_a_valid_broker_session_is_skipped_and_the_other_trades(frozen, condor):
    make_chain()
    BrokerAccount.objects.filter(client_id="ANGELONE456").update(broker="ANGELONE")  # never logged in
    execution = execution_run(execution_id=new_execution(condor).pk)
    assert_only_zerodha_traded(execution, "no valid ANGELONE session for ANGELONE456: log in again")


def test_an_unexpected_error_planning_one_account_skips_that_account_only(frozen, condor, monkeypatch):
    make_chain()
    lots = plan.allocation_lots

    def allocation_lots(allocation, **kwargs):
        if allocation.broker_account.client_id == "ANGELONE456":
            raise KeyError("override table corrupt")
        return lots(allocation, **kwargs)

    monkeypatch.setattr(plan, "allocation_lots", allocation_lots)
    execution = execution_run(execution_id=new_execution(condor).pk)
    assert_only_zerodha_traded(execution, "planning failed unexpectedly (KeyError")


def _book(condor, client_id, *, net, average, day_realized, realized, day):
    instrument = Instrument.objects.filter(kind="OPTION", strike=26000, option_type="CE").order_by("expiry").first()
    return Position.objects.create(
        strategy=condor,
        broker_account=BrokerAccount.objects.get(client_id=client_id),
        instrument=instrument,
        net_quantity=net,
        average_price=average,
        realized_pnl=realized,
        day_realized_pnl=day_realized,
        day=day,
    )


def test_the_daily_loss_check_ignores_losses_realized_on_earlier_days(frozen, condor):
    make_chain()
    Allocation.objects.update(risk_limits={"max_daily_loss": 5000})
    yesterday = (MONDAY_0930 - dt.timedelta(days=3)).date()  # the Friday before
    _book(condor, "ANGELONE456", net=0, average=0, day_realized=-20000, realized=-20000, day=yesterday)
    execution = execution_run(execution_id=new_execution(condor).pk)
    assert execution.status == Execution.Status.COMPLETED, results_of(execution)


def test_the_daily_loss_check_counts_todays_realized_plus_unrealized(frozen, condor):
    make_chain()
    Allocation.objects.update(risk_limits={"max_daily_loss": 5000})
    today = MONDAY_0930.date()
    position = _book(condor, "ANGELONE456", net=-650, average=0, day_realized=-3000, realized=-3000, day=today)
    ltp = position.instrument.quote.ltp
    # A short of 650 sold at (ltp - 4): 2600 of unrealized loss on top of 3000 realized today.
    Position.objects.filter(pk=position.pk).update(average_price=ltp - 4)
    execution = execution_run(execution_id=new_execution(condor).pk)
    assert_only_zerodha_traded(execution, "max_daily_loss 5000: today's P&L is -5600")


def test_the_daily_loss_check_refuses_when_todays_pnl_is_unknown(frozen, condor):
    make_chain()
    Allocation.objects.update(risk_limits={"max_daily_loss": 5000})
    position = _book(condor, "ANGELONE456", net=-650, average=100, day_realized=0, realized=0, day=MONDAY_0930.date())
    position.instrument.quote.delete()
    execution = execution_run(execution_id=new_execution(condor).pk)
    assert_only_zerodha_traded(execution, "today's P&L is unknown")
