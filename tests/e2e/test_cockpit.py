"""The cockpit in a real browser (Debian chromium via Playwright) against a live server: the performance
charts after a seeded week of trading, and the dashboard following a scheduled execution from PLANNED to
COMPLETED without a reload. No console errors; screenshots in test-artifacts/e2e/."""

import re

import pytest
import time_machine
from django.utils import timezone

from analytics.services import marks_rebuild
from tests.analytics.week import WEEK, trading_week
from tests.factories import UserFactory

from .conftest import ARTIFACTS

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-9"


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(re.compile(r"/dashboard/"))


def test_charts_render_with_data_after_a_seeded_week(live_server, page):
    user = UserFactory(username="meera", password=PASSWORD)
    week = trading_week(user)
    marks_rebuild(end=WEEK[-1])
    strategy = week["strategy"]
    base = live_server.url
    sign_in(page, base, "meera")

    page.goto(f"{base}/baskets/{strategy.basket_id}/")
    page.wait_for_selector("svg.perf-svg.equity")  # loaded into the basket page by htmx
    assert page.locator("svg.perf-svg.equity circle.dot").count() == 5
    assert page.locator("svg.perf-svg.drawdown polygon.area").count() == 1
    assert page.locator("svg.pnl-bars rect").count() == 5
    assert page.locator("svg.pnl-bars rect.loss").count() == 1  # Thursday
    assert page.locator("[data-testid=series-table] tbody tr").count() == 5
    assert page.locator("[data-testid=monthly-table] tbody tr").count() == 1
    box = page.locator("svg.perf-svg.equity").bounding_box()
    assert box["width"] > 300 and box["height"] > 80
    shot(page, "cockpit-01-basket-performance")

    page.goto(f"{base}/strategies/{strategy.pk}/")
    page.wait_for_selector("#performance-strategy svg.perf-svg.equity")
    page.wait_for_selector("#intraday")
    assert page.locator("#performance-strategy svg.pnl-bars rect").count() == 5
    assert page.locator("[data-testid=attribution-leg] tbody tr").count() == 4
    shot(page, "cockpit-02-strategy-performance")

    with page.expect_download() as download:
        page.locator("#performance-strategy summary a:has-text('CSV')").click()
    lines = open(download.value.path()).read().splitlines()
    assert lines[0].startswith("date,equity") and len(lines) == 6
    assert page.console_errors == []


def test_dashboard_follows_a_scheduled_entry_from_planned_to_completed_without_reload(live_server, page):
    from execution.models import Execution
    from execution.services.placement import execution_run
    from execution.services.schedule import executions_materialize
    from tests.execution.conftest import MONDAY_0930, allocate_seed_001, make_chain
    from tests.factories import iron_condor

    user = UserFactory(username="ravi", password=PASSWORD)
    strategy = iron_condor(owner=user, strategy_name="Monday Condor")
    for leg in strategy.legs.all():
        leg.strike_selection_config = {"method": "STRIKE_DISTANCE", "strike_distance": 200 * leg.leg_no}
        leg.entry_by = "STRIKE_DISTANCE"
        leg.save()
    allocate_seed_001(strategy, user)
    base = live_server.url
    with time_machine.travel(MONDAY_0930, tick=False):  # the server's clock; the browser keeps its own
        make_chain(now=timezone.now())
        sign_in(page, base, "ravi")
        status = page.locator("[data-testid=schedule-status]").first
        assert status.inner_text().strip() == "PLANNED"
        page.evaluate("window.__not_reloaded = true")
        shot(page, "cockpit-03-dashboard-planned")

        executions_materialize(now=timezone.now())  # what the minute tick and a worker do
        execution = Execution.objects.get(strategy=strategy, execution_type="ENTRY")
        done = execution_run(execution_id=execution.pk)
        assert done.status == "COMPLETED", done.execution_results

        page.wait_for_function(
            "() => document.querySelector('[data-testid=schedule-status]').textContent.trim() === 'COMPLETED'",
            timeout=15000,
        )
        page.wait_for_selector("#live-positions table")
        assert page.evaluate("window.__not_reloaded") is True
        assert page.locator("#dash-recent").inner_text().count("COMPLETED") >= 1
        shot(page, "cockpit-04-dashboard-completed")

        page.goto(f"{base}/positions/")
        assert page.locator("[data-testid=exit-strategy]").count() == 1
        assert page.locator("[data-testid=position-row]").count() == 8
        shot(page, "cockpit-05-positions")
        page.goto(f"{base}/quotes/chain/?underlying=NIFTY")
        page.wait_for_selector("[data-testid=option-chain]")
        shot(page, "cockpit-06-option-chain")
    assert page.console_errors == []


def test_grid_totals_stay_visible_at_820_px_and_risk_limits_are_editable(live_server, browser):
    import io

    from django.core.management import call_command

    from allocations.models import Allocation
    from tests.e2e.conftest import ARTIFACTS as artifacts

    call_command("load_instruments", verbosity=0)
    call_command("demo", stdout=io.StringIO())
    context = browser.new_context(viewport={"width": 820, "height": 700})
    page = context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "demo")
    page.fill("#id_password", "demo-trader-2026")
    page.click("button:has-text('Sign in')")
    page.wait_for_url(re.compile(r"/dashboard/"))
    allocation = Allocation.objects.get(broker_account__client_id="ZERODHA123")
    page.goto(f"{live_server.url}/strategies/{allocation.strategy_id}/allocations/")
    strip = page.locator("[data-testid=grid-totals]")
    assert strip.is_visible() and "18" in strip.inner_text()
    box = strip.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 820  # inside the viewport, not scrolled away
    row = page.locator("tr.risk", has_text="ZERODHA123")
    row.locator("summary").click()
    row.locator("input[name$='-risk-max_daily_loss']").fill("25,000")
    page.screenshot(path=str(artifacts / "cockpit-07-grid-820px.png"), full_page=True)
    page.click("button:has-text('Save allocation')")
    page.wait_for_load_state()
    allocation.refresh_from_db()
    assert float(allocation.risk_limits["max_daily_loss"]) == 25000
    assert errors == []
    context.close()


def test_cancel_on_the_execution_page_cancels_a_resting_order_at_the_broker(live_server, page):
    from brokers.models import PaperOrder
    from execution.models import Order
    from execution.services.placement import execution_run
    from tests.execution.conftest import MONDAY_0930, allocate_seed_001, make_chain, new_execution
    from tests.factories import iron_condor

    user = UserFactory(username="asha", password=PASSWORD)
    strategy = iron_condor(owner=user, strategy_name="Resting Condor")
    for leg in strategy.legs.all():
        leg.strike_selection_config = {"method": "STRIKE_DISTANCE", "strike_distance": 200 * leg.leg_no}
        leg.entry_by = "STRIKE_DISTANCE"
        leg.order_type, leg.chase_after_seconds = "LIMIT", 600  # the hedges rest at their limit
        leg.save()
    allocate_seed_001(strategy, user)
    base = live_server.url
    with time_machine.travel(MONDAY_0930, tick=False):
        make_chain(now=timezone.now())
        execution = execution_run(execution_id=new_execution(strategy).pk)
        hedge = Order.objects.get(execution=execution, leg_no=2, broker_account__client_id="ZERODHA123")
        assert hedge.status == "OPEN"
        sign_in(page, base, "asha")
        page.goto(f"{base}/executions/{execution.pk}/")
        page.wait_for_selector("[data-testid=working-orders]")
        page.on("dialog", lambda dialog: dialog.accept())  # the confirmation (data-confirm, app.js)
        page.locator(f"[data-order-id='{hedge.pk}'] [data-testid=cancel-order]").click()
        message = page.locator("[data-testid=order-action-message]")
        message.wait_for(timeout=15000)
        assert "now CANCELLED" in message.inner_text()
        assert page.locator(f"[data-order-id='{hedge.pk}']").count() == 0  # it left the working orders
        shot(page, "cockpit-07-order-cancelled")
    assert PaperOrder.objects.get(tag=hedge.tag).status == "CANCELLED"
    assert page.console_errors == []
