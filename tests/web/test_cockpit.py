"""The dashboard as a cockpit: every panel refreshes on its own; closed rows leave; kill switch state;
the option chain; readable contract names."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from analytics.templatetags.trading import contract
from execution.models import Execution
from market.models import Instrument, Quote
from tests.execution.conftest import MONDAY_0930, allocate_seed_001, make_chain, new_execution
from tests.factories import OptionInstrumentFactory, iron_condor

pytestmark = pytest.mark.django_db


def test_every_dashboard_panel_refreshes_itself(page):
    html = page.get("/dashboard/").content.decode()
    for name in ("alerts", "schedule", "market", "working", "recent"):
        assert f'hx-get="/dashboard/panels/{name}/"' in html, name
        assert page.get(f"/dashboard/panels/{name}/").status_code == 200
    assert 'hx-get="/dashboard/positions/"' in html
    assert page.get("/dashboard/panels/nope/").status_code == 404


def test_schedule_panel_goes_planned_running_completed(page, user):
    strategy = iron_condor(owner=user)
    allocate_seed_001(strategy, user)
    with time_machine.travel(MONDAY_0930 - dt.timedelta(minutes=5), tick=False):
        assert ">PLANNED<" in page.get("/dashboard/panels/schedule/").content.decode()
        execution = new_execution(strategy)
        assert ">PLANNED<" in page.get("/dashboard/panels/schedule/").content.decode()
        Execution.objects.filter(pk=execution.pk).update(status="IN_PROGRESS")
        assert ">RUNNING<" in page.get("/dashboard/panels/schedule/").content.decode()
        Execution.objects.filter(pk=execution.pk).update(status="COMPLETED")
    with time_machine.travel(MONDAY_0930 + dt.timedelta(minutes=10), tick=False):
        assert ">COMPLETED<" in page.get("/dashboard/panels/schedule/").content.decode()


def test_kill_switch_state_per_account_with_one_release_for_all(page, user):
    from tests.factories import BrokerAccountFactory

    for client_id in ("ZERODHA123", "ANGELONE456"):
        BrokerAccountFactory(owner=user, client_id=client_id, entries_blocked=True, entries_blocked_reason="test")
    html = page.get("/dashboard/panels/market/").content.decode()
    assert 'data-testid="kill-switch-engaged"' in html and "2 of 2 accounts" in html
    page.post("/kill-switch/", {"action": "release"})
    html = page.get("/dashboard/panels/market/").content.decode()
    assert 'data-testid="kill-switch-engaged"' not in html and html.count(">trading<") == 2


def test_closed_rows_leave_open_positions(page, user, frozen):
    from tests.analytics.week import book
    from tests.factories import BrokerAccountFactory

    strategy = iron_condor(owner=user)
    account = BrokerAccountFactory(owner=user)
    instrument = OptionInstrumentFactory(expiry=dt.date(2026, 12, 8), strike=Decimal("25600"))
    book(strategy, account, instrument, 1, "SELL", 65, "100", timezone.now())
    html = page.get("/dashboard/positions/").content.decode()
    assert "NIFTY 08 Dec 25,600 PE" in html and "-65" in html
    book(strategy, account, instrument, 1, "BUY", 65, "90", timezone.now())
    html = page.get("/dashboard/").content.decode()
    assert 'data-testid="book-flat"' in html and "25,600" not in html


def test_contract_names_read_like_a_trader_says_them():
    instrument = Instrument(
        underlying="NIFTY", expiry=dt.date(2026, 12, 8), strike=Decimal("25600"), option_type="PE",
        tradingsymbol="NIFTY26D0825600PE",
    )  # fmt: skip
    assert contract(instrument) == "NIFTY 08 Dec 25,600 PE"
    assert contract(Instrument(underlying="NIFTY", tradingsymbol="NIFTY 50")) == "NIFTY 50"


def test_option_chain_lists_strikes_with_quotes_and_marks_stale_ones(page, frozen):
    make_chain()
    stale = Instrument.objects.get(underlying="NIFTY", expiry=dt.date(2026, 11, 24), strike=26000, option_type="CE")
    Quote.objects.filter(instrument=stale).update(updated_at=timezone.now() - dt.timedelta(minutes=5))
    response = page.get("/quotes/chain/?underlying=NIFTY&expiry=2026-11-24")
    html = response.content.decode()
    assert response.status_code == 200 and 'data-testid="option-chain"' in html
    assert 'data-testid="atm-row"' in html and "26,000" in html
    assert html.count(">stale<") == 1
    assert "300" in html  # the stale quote's age in seconds


@pytest.mark.parametrize("query, field", [("underlying=DOGE", "underlying"), ("expiry=24-11-2026", "expiry")])
def test_option_chain_bad_query_is_400_naming_it(page, frozen, query, field):
    make_chain()
    response = page.get(f"/quotes/chain/?{query}")
    assert response.status_code == 400 and f"{field}:" in response.content.decode()


def test_working_orders_show_readable_contracts_and_limits(page, user, frozen):
    from execution.models import Order
    from tests.factories import BrokerAccountFactory

    strategy = iron_condor(owner=user)
    account = BrokerAccountFactory(owner=user)
    instrument = OptionInstrumentFactory(expiry=dt.date(2026, 12, 8), strike=Decimal("25600"))
    Order.objects.create(
        execution=new_execution(strategy), strategy=strategy, broker_account=account, leg_no=1,
        instrument=instrument, side="SELL", lots=1, quantity=65, order_type="LIMIT",
        limit_price=Decimal("1234.50"), tag="W1", status="OPEN",
    )  # fmt: skip
    html = page.get("/dashboard/panels/working/").content.decode()
    assert "NIFTY 08 Dec 25,600 PE" in html and "1,234.50" in html and "0 / 65" in html


def test_positions_page_is_live_with_subtotals_per_strategy_and_an_exit_each(page, user, frozen):
    from tests.analytics.week import book
    from tests.factories import BrokerAccountFactory

    account = BrokerAccountFactory(owner=user)
    put = OptionInstrumentFactory(expiry=dt.date(2026, 12, 8), strike=Decimal("25600"))
    call = OptionInstrumentFactory(expiry=dt.date(2026, 12, 8), strike=Decimal("26400"), option_type="CE")
    holding, closed = iron_condor(owner=user), iron_condor(owner=user)
    book(holding, account, put, 1, "SELL", 65, "100", timezone.now())
    book(holding, account, call, 3, "SELL", 65, "80", timezone.now())
    book(closed, account, put, 1, "SELL", 65, "100", timezone.now())
    book(closed, account, put, 1, "BUY", 65, "90", timezone.now())
    html = page.get("/positions/").content.decode()
    assert 'hx-get="/positions/"' in html and 'hx-trigger="every 2s"' in html
    assert html.count('data-testid="strategy-group"') == 2
    assert html.count('data-testid="strategy-subtotal"') == 2
    assert html.count('data-testid="exit-strategy"') == 1  # only the strategy still holding
    assert f'name="strategy_id" value="{holding.pk}"' in html and 'name="execution_type" value="exit"' in html
    assert "NIFTY 08 Dec 26,400 CE" in html
    assert "650.00" in html  # the closed strategy's realized (100 − 90) × 65
    assert page.get("/positions/", headers={"HX-Request": "true"}).content.decode().startswith("\n<div id=")


def _order(strategy, account, *, execution=None, status="OPEN", filled=0, limit="101.50", tag="W2"):
    from execution.models import Order

    return Order.objects.create(
        execution=execution or new_execution(strategy, trigger="MANUAL"), strategy=strategy, broker_account=account,
        leg_no=1, instrument=OptionInstrumentFactory(expiry=dt.date(2026, 12, 8), strike=Decimal("25600")),
        side="SELL", lots=1, quantity=65, order_type="LIMIT", limit_price=Decimal(limit) if limit else None,
        tag=tag, status=status, filled_quantity=filled,
    )  # fmt: skip


def test_a_run_that_filled_nothing_says_so_on_the_list_and_the_detail(page, user, frozen):
    from tests.factories import BrokerAccountFactory

    strategy = iron_condor(owner=user)
    account = BrokerAccountFactory(owner=user)
    execution = new_execution(strategy, trigger="MANUAL")
    results = {"broker_executions": [{"client_id": account.client_id, "status": "FAILED", "leg_executions": []}]}
    Execution.objects.filter(pk=execution.pk).update(status="FAILED", total_lots=18, execution_results=results)
    _order(strategy, account, execution=execution, status="REJECTED")
    listed = page.get("/executions/").content.decode()
    assert 'data-testid="no-fills"' in listed and "0 filled" in listed and "of 18" in listed
    detail = page.get(f"/executions/{execution.pk}/").content.decode()
    assert "nothing filled" in detail and "18 planned lots" in detail
    assert 'data-testid="limit-price">101.50<' in detail


def test_history_filters_by_strategy_status_and_date(page, user, frozen):
    first, second = iron_condor(owner=user), iron_condor(owner=user)
    done = new_execution(first, trigger="MANUAL")
    Execution.objects.filter(pk=done.pk).update(status="COMPLETED")
    new_execution(second, trigger="MANUAL")
    by_strategy = page.get(f"/executions/?strategy_id={second.pk}").content.decode()
    assert second.strategy_name in by_strategy and f"<td>{first.strategy_name}</td>" not in by_strategy
    by_status = page.get("/executions/?status=COMPLETED").content.decode()
    assert f"<td>{first.strategy_name}</td>" in by_status and f"<td>{second.strategy_name}</td>" not in by_status
    assert "No executions yet." in page.get("/executions/?date=2026-11-24").content.decode()
    assert f"<td>{first.strategy_name}</td>" in page.get("/executions/?date=2026-11-23").content.decode()


@pytest.mark.parametrize(
    "query, field", [("status=DONE", "status"), ("date=23/11/2026", "date"), ("strategy_id=x", "strategy_id")]
)
def test_history_bad_filter_is_400_naming_it(page, query, field):
    response = page.get(f"/executions/?{query}")
    assert response.status_code == 400 and f"{field}:" in response.content.decode()


def test_run_again_message_speaks_to_traders_and_the_confirmation_says_paper(page, user, frozen):
    strategy = iron_condor(owner=user)
    allocate_seed_001(strategy, user)
    html = page.get("/schedule/").content.decode()
    assert "Place paper (simulated) orders for" in html and 'data-paper="true"' in html
    assert "Run again anyway" in html
    execution = new_execution(strategy, trigger="MANUAL")
    Execution.objects.filter(pk=execution.pk).update(status="COMPLETED")
    response = page.post("/executions/run/", {"strategy_id": strategy.pk, "execution_type": "entry"}, follow=True)
    text = response.content.decode()
    assert "already ran today" in text and "Run again anyway" in text and "force=true" not in text


def test_api_conflict_still_names_force_for_integrators(frozen, api, user):
    strategy = iron_condor(owner=user)
    allocate_seed_001(strategy, user)
    execution = new_execution(strategy, trigger="MANUAL")
    Execution.objects.filter(pk=execution.pk).update(status="COMPLETED")
    response = api.post(
        "/api/v1/options/executions/manual/",
        {"strategy_id": str(strategy.pk), "execution_type": "entry"},
        format="json",
    )
    assert response.status_code == 409 and "force=true" in response.json()["detail"]


def test_a_running_execution_page_refreshes_until_it_finishes(page, user, frozen):
    strategy = iron_condor(owner=user)
    execution = new_execution(strategy, trigger="MANUAL")
    Execution.objects.filter(pk=execution.pk).update(status="IN_PROGRESS")
    assert 'hx-trigger="every 1s"' in page.get(f"/executions/{execution.pk}/").content.decode()
    Execution.objects.filter(pk=execution.pk).update(status="COMPLETED")
    assert 'hx-trigger="every 1s"' not in page.get(f"/executions/{execution.pk}/").content.decode()
