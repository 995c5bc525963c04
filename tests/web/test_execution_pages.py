"""Dashboard, schedule, executions and positions pages: what the owner sees, and 404 for anyone else."""

import pytest

from brokers.models import BrokerAccount
from execution.models import Alert, Execution, Order
from tests.execution.conftest import make_chain

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def trader_page(trader):
    from django.test import Client

    client = Client()
    client.force_login(trader)
    return client


def test_every_execution_page_renders_for_its_owner(trader_page, condor):
    for url in ("/dashboard/", "/schedule/", "/executions/", "/positions/", "/dashboard/positions/"):
        response = trader_page.get(url)
        assert response.status_code == 200, url


def test_home_is_the_dashboard(trader_page):
    assert trader_page.get("/").url == "/dashboard/"


def test_a_manual_entry_from_the_schedule_page_trades_and_shows_per_broker_per_leg_results(
    frozen, trader_page, condor, eager_celery
):
    make_chain()
    response = trader_page.post("/executions/run/", {"strategy_id": str(condor.pk), "execution_type": "entry"})
    execution = Execution.objects.get()
    assert response.url == f"/executions/{execution.pk}/"
    page = trader_page.get(response.url).content.decode()
    assert "COMPLETED" in page and "ZERODHA123" in page and "ANGELONE456" in page
    assert Order.objects.filter(status="FILLED").count() == 8
    positions = trader_page.get("/positions/").content.decode()
    assert positions.count('data-testid="position-row"') == 8  # grouped under the strategy, with a subtotal
    again = trader_page.post(
        "/executions/run/", {"strategy_id": str(condor.pk), "execution_type": "entry"}, follow=True
    )
    assert "already ran today" in again.content.decode()
    assert Execution.objects.count() == 1


def test_another_users_execution_strategy_and_alert_are_404(trader, condor, other_page, eager_celery):
    execution = Execution.objects.create(
        strategy=condor, execution_type="ENTRY", execution_date="2026-11-23", execution_time="09:30",
        due_at="2026-11-23T04:00:00Z", trigger="MANUAL",
    )  # fmt: skip
    alert = Alert.objects.create(owner=trader, kind="MISSED", message="x")
    assert other_page.get(f"/executions/{execution.pk}/").status_code == 404
    assert (
        other_page.post("/executions/run/", {"strategy_id": str(condor.pk), "execution_type": "entry"}).status_code
        == 404
    )
    assert other_page.post(f"/alerts/{alert.pk}/acknowledge/").status_code == 404
    assert other_page.post("/kill-switch/", {"client_id": "ZERODHA123"}).status_code == 404
    assert "Weekly Iron Condor" not in other_page.get("/dashboard/").content.decode()


def test_the_kill_switch_button_blocks_and_releases_entries(trader_page, trader, condor):
    response = trader_page.post("/kill-switch/", {"flatten": "on"}, follow=True)
    assert "Kill switch engaged" in response.content.decode()
    assert BrokerAccount.objects.filter(owner=trader, entries_blocked=True).count() == 2
    trader_page.post("/kill-switch/", {"client_id": "ZERODHA123", "action": "release"})
    assert list(
        BrokerAccount.objects.filter(owner=trader, entries_blocked=True).values_list("client_id", flat=True)
    ) == ["ANGELONE456"]


def test_alerts_show_on_the_dashboard_until_acknowledged(trader_page, trader):
    alert = Alert.objects.create(owner=trader, kind="STALE_FEED", severity="CRITICAL", message="NIFTY feed is stale")
    assert "NIFTY feed is stale" in trader_page.get("/dashboard/").content.decode()
    trader_page.post(f"/alerts/{alert.pk}/acknowledge/")
    assert "NIFTY feed is stale" not in trader_page.get("/dashboard/").content.decode()


def test_the_schedule_marks_holidays(trader_page, condor):
    from market.models import Holiday

    Holiday.objects.create(exchange="NSE", date="2026-11-23", description="test")
    page = trader_page.get("/schedule/?from=2026-11-23").content.decode()
    assert "holiday: NSE" in page


def test_the_basket_page_shows_each_strategys_pnl_from_its_own_book(frozen, trader_page, condor, eager_celery):
    make_chain()
    trader_page.post("/executions/run/", {"strategy_id": str(condor.pk), "execution_type": "entry"})
    trader_page.post("/executions/run/", {"strategy_id": str(condor.pk), "execution_type": "exit"})
    from execution.models import Position

    realized = sum(p.realized_pnl for p in Position.objects.filter(strategy=condor))
    assert realized != 0  # bought at the ask, sold at the bid: the spread is a loss
    page = trader_page.get(f"/baskets/{condor.basket_id}/").content.decode()
    assert f"{realized:,.2f}".replace(",", "") in page.replace(",", "")


def test_a_positions_filter_that_is_not_a_strategy_id_is_a_400_not_every_book(trader_page, condor):
    bad = trader_page.get("/positions/", {"strategy_id": "bad"})
    good = trader_page.get("/positions/", {"strategy_id": str(condor.pk)})

    assert bad.status_code == 400 and b"strategy_id" in bad.content
    assert good.status_code == 200
