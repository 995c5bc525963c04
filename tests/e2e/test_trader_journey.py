"""The trader's journey in a real browser (Debian chromium driven by Playwright) against a live server:
log in, add two paper accounts, create a basket, build the seed 001 iron condor, allocate it in the grid
(18 lots), enter manually, see orders and positions, exit, see the book flat. Screenshots of each page
go to test-artifacts/e2e/."""

import re

import pytest
from django.core.management import call_command

from execution.models import Order, Position
from tests.factories import UserFactory

from .conftest import ARTIFACTS

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LEGS = [  # seed 001 Step 3 with explicit strike selection
    (1, "SELL", "PUT", "DELTA", "0.2"),
    (2, "BUY", "PUT", "STRIKE_DISTANCE", "500"),
    (3, "SELL", "CALL", "DELTA", "0.2"),
    (4, "BUY", "CALL", "STRIKE_DISTANCE", "500"),
]
GRID = {"ZERODHA123": (3, 3, 1, 1), "ANGELONE456": (1, 1, 4, 4)}


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_trader_builds_allocates_enters_and_exits_the_iron_condor(live_server, page, eager_celery):
    call_command("load_instruments", verbosity=0)
    UserFactory(username="asha", password="correct-horse-9")
    base = live_server.url
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations before placing orders

    page.goto(f"{base}/")
    page.fill("#id_username", "asha")
    page.fill("#id_password", "correct-horse-9")
    shot(page, "01-login")
    page.click("button:has-text('Sign in')")
    page.wait_for_url(re.compile(r"/dashboard/"))
    shot(page, "02-dashboard-empty")

    for client_id in GRID:
        page.goto(f"{base}/broker-accounts/add/")
        page.fill("#id_client_id", client_id)
        page.select_option("#id_broker", "PAPER")
        page.click("button:has-text('Add account')")
        page.wait_for_selector(f"text={client_id}")
    shot(page, "03-broker-accounts")

    page.goto(f"{base}/baskets/new/")
    page.fill("#id_basket_name", "Conservative Income")
    page.fill("#id_description", "Low-risk monthly income strategies")
    page.fill("#id_initial_capital", "500000")
    page.fill("#id_deployable_percentage", "80")
    page.click("button:has-text('Create basket')")
    page.wait_for_selector("h1:has-text('Conservative Income')")
    shot(page, "04-basket")

    page.goto(f"{base}/strategies/new/")
    page.fill("#id_strategy_name", "Weekly Iron Condor NIFTY")
    page.select_option("#id_basket_id", label="Conservative Income")
    page.select_option("#id_underlying", "NIFTY")
    page.select_option("#id_product", "NRML")
    page.fill("#id_entry_time", "09:30")
    page.fill("#id_exit_time", "15:20")
    page.check("input[name=entry_days][value=MONDAY]")
    page.check("input[name=exit_days][value=FRIDAY]")
    page.click("button:has-text('Create strategy')")
    page.wait_for_selector("#leg-add")
    strategy_url = page.url

    for leg_no, side, kind, method, parameter in LEGS:
        form = page.locator("#leg-add")
        form.locator("[name=leg_no]").fill(str(leg_no))
        form.locator("[name=transaction_type]").select_option(side)
        form.locator("[name=leg_type]").select_option(kind)
        form.locator("[name=lots]").fill("2")
        form.locator("[name=method]").select_option(method)
        form.locator("[name=parameter]").fill(parameter)
        form.locator("button:has-text('Add leg')").click()
        page.wait_for_function(f"() => document.querySelectorAll('form.leg:not(.new)').length >= {leg_no}")
    page.wait_for_selector("svg")  # the payoff chart
    # reorder: leg 2 up (it becomes leg 1), then back down, through the htmx buttons
    page.click("button[aria-label='Move leg 2 up']")
    page.wait_for_selector("text=Leg 2 is now leg 1")
    assert "BUY" in page.locator("#leg-1 .badge").first.inner_text()
    page.click("button[aria-label='Move leg 1 down']")
    page.wait_for_selector("text=Leg 1 is now leg 2")
    assert "SELL" in page.locator("#leg-1 .badge").first.inner_text()
    shot(page, "05-strategy-builder")

    page.goto(strategy_url.rstrip("/") + "/allocations/")
    for client_id, lots in GRID.items():
        row = page.locator("tr.row", has_text=client_id)
        row.locator("input.allocated").check()
        row.locator("select.mode").select_option("LEG_LEVEL")
        for leg_no, n in enumerate(lots, 1):
            row.locator(f"input[name$='-leg{leg_no}-lots']").fill(str(n))
    page.wait_for_function("() => document.querySelector('#grand-lots').textContent.trim() === '18'")
    shot(page, "06-allocation-grid")
    page.click("button:has-text('Save allocation')")
    page.wait_for_load_state()
    assert page.locator("#grand-lots").inner_text().strip() == "18"

    def run(kind):
        page.goto(f"{base}/schedule/")
        page.select_option("#id_strategy", label="Weekly Iron Condor NIFTY")
        page.select_option("#id_execution_type", kind)
        page.check("input[name=force]")
        page.click("[data-testid=manual-run]")
        page.wait_for_url(re.compile(r"/executions/[0-9a-f-]+/"))
        page.wait_for_function(
            "() => ['COMPLETED','PARTIAL','FAILED'].includes(document.querySelector('[data-testid=execution-status]').textContent.trim())"
        )
        return page.locator("[data-testid=execution-status]").inner_text().strip()

    assert run("entry") == "COMPLETED"
    page.locator("details summary").first.click()
    shot(page, "07-entry-detail")
    assert Order.objects.filter(status="FILLED").count() == 8

    page.goto(f"{base}/positions/")
    assert page.locator("[data-testid=position-row]").count() == 8
    shot(page, "08-positions-open")
    page.goto(f"{base}/dashboard/")
    page.wait_for_selector("#live-positions table")
    shot(page, "09-dashboard-live")

    assert run("exit") == "COMPLETED"
    shot(page, "10-exit-detail")
    page.goto(f"{base}/dashboard/")
    page.wait_for_selector("[data-testid=book-flat]")
    shot(page, "11-dashboard-flat")
    assert not Position.objects.exclude(net_quantity=0).exists()
    assert page.console_errors == [], page.console_errors


@pytest.mark.parametrize("width", [1024, 820])
def test_pages_fit_laptop_and_tablet_widths(live_server, browser, width):
    from django.contrib.auth import get_user_model

    call_command("demo", verbosity=0)
    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "demo")
    page.fill("#id_password", "demo-trader-2026")
    page.click("button:has-text('Sign in')")
    page.wait_for_url(re.compile(r"/dashboard/"))
    strategy = get_user_model().objects.get(username="demo").strategies.get()
    for path in (
        "/dashboard/",
        "/baskets/",
        f"/strategies/{strategy.pk}/",
        f"/strategies/{strategy.pk}/allocations/",
        "/schedule/",
        "/positions/",
    ):
        page.goto(live_server.url + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, (path, width, overflow)
    page.screenshot(path=str(ARTIFACTS / f"grid-{width}.png"), full_page=True)
    context.close()
