"""Gross and net P&L (net = gross − the estimated charges of the executed orders, default CHARGES_* rates) on the
positions page and API, the dashboard, and the basket page and API, against figures worked out by hand.

The book (lot size 65, all on ZERODHA123, strategies A and B in one basket):
- A, leg 1 (PE 25800): SELL 65 @ 100 then BUY 65 @ 80: realized (100 − 80) × 65 = 1,300, flat.
    SELL, turnover 6,500: brokerage 20 + STT 6.50 + exchange 2.28 (6,500 × 0.0003503 = 2.27695)
      + SEBI 0.01 (0.0065) + GST 4.01 ((20 + 2.28 + 0.01) × 0.18 = 4.0122) = 32.80
    BUY, turnover 5,200: brokerage 20 + exchange 1.82 (1.82156) + SEBI 0.01 (0.0052)
      + GST 3.93 (21.83 × 0.18 = 3.9294) + stamp 0.16 (5,200 × 0.00003 = 0.156) = 25.92
    charges 58.72, gross 1,300, net 1,241.28.
- A, leg 2 (PE 25300): BUY 65 @ 30, last 25: unrealized (25 − 30) × 65 = −325.
    BUY, turnover 1,950: brokerage 20 + exchange 0.68 (0.683085) + SEBI 0.00 (0.00195)
      + GST 3.72 (20.68 × 0.18 = 3.7224) + stamp 0.06 (0.0585) = 24.46
    gross −325, net −349.46.
  A: realized 1,300, unrealized −325, gross 975, charges 83.18, net 891.82.
- B, leg 3 (CE 26200): SELL 65 @ 50, last 60: unrealized (60 − 50) × −65 = −650.
    SELL, turnover 3,250: brokerage 20 + STT 3.25 + exchange 1.14 (1.138475) + SEBI 0.00 (0.00325)
      + GST 3.81 (21.14 × 0.18 = 3.8052) = 28.20
    B: gross −650, charges 28.20, net −678.20.
- Basket (and the whole book): realized 1,300, unrealized −975, gross 325, charges 111.38, net 213.62."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from market.models import Quote
from tests.analytics.week import book
from tests.factories import BasketFactory, BrokerAccountFactory, OptionInstrumentFactory, iron_condor

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pinned(pinned_clock):
    """First, so that the API clients' tokens are issued on the pinned clock too."""
    yield


@pytest.fixture
def page(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def books(user):
    now = timezone.now()
    basket = BasketFactory(owner=user)
    a = iron_condor(owner=user, basket=basket, strategy_name="A condor")
    b = iron_condor(owner=user, basket=basket, strategy_name="B condor")
    account = BrokerAccountFactory(owner=user, client_id="ZERODHA123")
    pe_short = OptionInstrumentFactory(strike=Decimal(25800), option_type="PE")
    pe_long = OptionInstrumentFactory(strike=Decimal(25300), option_type="PE")
    ce_short = OptionInstrumentFactory(strike=Decimal(26200), option_type="CE")
    earlier = now - dt.timedelta(hours=1)
    book(a, account, pe_short, 1, "SELL", 65, 100, earlier)
    book(a, account, pe_long, 2, "BUY", 65, 30, earlier)
    book(a, account, pe_short, 1, "BUY", 65, 80, now)
    book(b, account, ce_short, 3, "SELL", 65, 50, earlier)
    Quote.objects.create(instrument=pe_long, ltp=Decimal(25), bid=Decimal("24.95"), ask=Decimal(25), updated_at=now)
    Quote.objects.create(instrument=ce_short, ltp=Decimal(60), bid=Decimal(60), ask=Decimal("60.05"), updated_at=now)
    return {"basket": basket, "a": a, "b": b}


def shown(html, testid):
    """The text of every element with this data-testid, in page order."""
    return [re.sub(r"<[^>]+>", "", text).strip() for text in re.findall(rf'data-testid="{testid}"[^>]*>(.*?)</', html)]


def test_positions_page_shows_gross_charges_and_net_per_line_strategy_and_book(page, books):
    html = page.get(reverse("execution:positions")).content.decode()

    assert shown(html, "total-pnl") == ["325.00"]
    assert shown(html, "total-charges") == ["111.38"]
    assert shown(html, "net-pnl") == ["213.62"]
    # Lines in order (A: leg 2's PE 25300, leg 1's PE 25800; then B), each strategy followed by its subtotal.
    assert shown(html, "gross") == ["-325.00", "1,300.00", "975.00", "-650.00", "-650.00"]
    assert shown(html, "charges") == ["24.46", "58.72", "83.18", "28.20", "28.20"]
    assert shown(html, "net") == ["-349.46", "1,241.28", "891.82", "-678.20", "-678.20"]


def test_dashboard_shows_the_books_gross_charges_and_net(page, books):
    html = page.get(reverse("execution:dashboard")).content.decode()

    assert shown(html, "book-gross") == ["325.00"]
    assert shown(html, "book-charges") == ["111.38"]
    assert shown(html, "book-net") == ["213.62"]
    live = page.get(reverse("execution:live-positions")).content.decode()
    assert shown(live, "book-net") == ["213.62"]


def test_basket_page_shows_gross_charges_and_net_per_strategy_and_for_the_basket(page, books):
    html = page.get(reverse("baskets:detail", args=[books["basket"].pk])).content.decode()

    assert shown(html, "strategy-pnl") == ["975.00", "-650.00"]
    assert shown(html, "strategy-charges") == ["83.18", "28.20"]
    assert shown(html, "strategy-net") == ["891.82", "-678.20"]
    assert (shown(html, "basket-gross"), shown(html, "basket-charges"), shown(html, "basket-net")) == (
        ["325.00"],
        ["111.38"],
        ["213.62"],
    )


def test_basket_pnl_api_answers_the_same_figures(api, books):
    body = api.get(f"/api/v1/options/baskets/{books['basket'].pk}/pnl/").json()

    assert body["total"] == {
        "realized_pnl": 1300.0,
        "unrealized_pnl": -975.0,
        "gross_pnl": 325.0,
        "fees": 111.38,
        "net_pnl": 213.62,
    }
    a, b = body["strategies"]
    assert (a["strategy_name"], a["gross_pnl"], a["fees"], a["net_pnl"]) == ("A condor", 975.0, 83.18, 891.82)
    assert (b["strategy_name"], b["gross_pnl"], b["fees"], b["net_pnl"]) == ("B condor", -650.0, 28.2, -678.2)


def test_basket_pnl_api_of_another_users_basket_is_404(other_api, books):
    assert other_api.get(f"/api/v1/options/baskets/{books['basket'].pk}/pnl/").status_code == 404


def test_positions_api_carries_gross_fees_and_net_per_line(api, books):
    rows = api.get("/api/v1/options/positions/").json()["results"]

    figures = {(r["strategy_name"], r["tradingsymbol"]): (r["gross_pnl"], r["fees"], r["net_pnl"]) for r in rows}
    assert figures == {
        ("A condor", "NIFTY26DEC25300PE"): (-325.0, 24.46, -349.46),
        ("A condor", "NIFTY26DEC25800PE"): (1300.0, 58.72, 1241.28),
        ("B condor", "NIFTY26DEC26200CE"): (-650.0, 28.2, -678.2),
    }


def test_a_held_contract_without_a_price_leaves_gross_and_net_unknown_not_zero(api, page, books):
    Quote.objects.filter(instrument__strike=26200).delete()

    row = next(r for r in api.get("/api/v1/options/positions/").json()["results"] if r["strategy_name"] == "B condor")
    total = api.get(f"/api/v1/options/baskets/{books['basket'].pk}/pnl/").json()["total"]

    assert (row["gross_pnl"], row["fees"], row["net_pnl"]) == (None, 28.2, None)
    assert (total["gross_pnl"], total["fees"], total["net_pnl"]) == (None, 111.38, None)
    assert shown(page.get(reverse("execution:positions")).content.decode(), "net-pnl") == ["—"]
