"""Performance pages: charts with their data, tables and CSV exports; the intraday MTM partial."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from analytics.models import IntradayMark
from analytics.services import intraday_marks_sample, marks_rebuild
from market.models import Quote

from .week import IST, WEEK, trading_week

pytestmark = pytest.mark.django_db
FRIDAY_NIGHT = dt.datetime(2026, 11, 27, 23, 35, tzinfo=IST)


@pytest.fixture
def week(user):
    with time_machine.travel(FRIDAY_NIGHT, tick=False):
        data = trading_week(user)
        marks_rebuild(end=WEEK[-1])
        yield data


def test_basket_performance_page_draws_equity_drawdown_and_daily_bars(week, page):
    basket_id = week["strategy"].basket_id
    html = page.get(f"/baskets/{basket_id}/performance/").content.decode()
    assert 'class="perf-svg equity"' in html and 'data-points="5"' in html
    assert 'class="perf-svg drawdown"' in html
    assert 'data-bars="5"' in html and 'class="loss"' in html  # Thursday's loss is a red bar
    assert 'data-testid="series-table"' in html and "26 Nov 2026" in html
    assert 'data-testid="monthly-table"' in html and '<th scope="row">2026</th>' in html
    assert 'data-testid="attribution-strategy"' in html and "ANGELONE456" in html


def test_basket_page_loads_the_performance_section(week, page):
    html = page.get(f"/baskets/{week['strategy'].basket_id}/").content.decode()
    assert f'hx-get="/baskets/{week["strategy"].basket_id}/performance/"' in html


def test_strategy_builder_loads_performance_and_intraday(week, page):
    html = page.get(f"/strategies/{week['strategy'].pk}/").content.decode()
    assert f"/strategies/{week['strategy'].pk}/performance/" in html
    assert f"/strategies/{week['strategy'].pk}/intraday/" in html


def test_htmx_gets_the_partial_and_a_bad_date_is_400_naming_it(week, page):
    url = f"/strategies/{week['strategy'].pk}/performance/"
    partial = page.get(url, headers={"HX-Request": "true"})
    assert partial.status_code == 200 and b"<html" not in partial.content
    bad = page.get(url + "?from=27-11-2026")
    assert bad.status_code == 400 and b"from:" in bad.content


def test_series_csv_matches_the_marks(week, page):
    response = page.get(f"/strategies/{week['strategy'].pk}/performance.csv?from=2026-11-24&to=2026-11-25")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert response["Content-Type"].startswith("text/csv")
    assert [r["date"] for r in rows] == ["2026-11-24", "2026-11-25"]
    assert all(Decimal(r["net_pnl"]) == Decimal(r["gross_pnl"]) - Decimal(r["fees"]) for r in rows)


def test_monthly_and_attribution_csv(week, page):
    monthly = page.get(f"/baskets/{week['strategy'].basket_id}/performance.csv?table=monthly").content.decode()
    assert monthly.splitlines()[0] == "month,return_pct" and monthly.splitlines()[1].startswith("2026-11,")
    attribution = page.get(f"/baskets/{week['strategy'].basket_id}/performance.csv?table=attribution").content
    assert b"leg," in attribution and b"account," in attribution and b"strategy," in attribution
    assert page.get(f"/baskets/{week['strategy'].basket_id}/performance.csv?table=nope").status_code == 400


def test_another_users_performance_pages_are_404(week, other_page):
    strategy = week["strategy"]
    for url in (
        f"/baskets/{strategy.basket_id}/performance/",
        f"/baskets/{strategy.basket_id}/performance.csv",
        f"/strategies/{strategy.pk}/performance/",
        f"/strategies/{strategy.pk}/performance.csv",
        f"/strategies/{strategy.pk}/intraday/",
    ):
        assert other_page.get(url).status_code == 404, url


def test_performance_page_without_marks_says_so(page, user):
    from tests.factories import iron_condor

    strategy = iron_condor(owner=user)
    html = page.get(f"/strategies/{strategy.pk}/performance/").content.decode()
    assert 'data-testid="no-performance"' in html


def test_intraday_line_samples_mtm_each_minute_while_holding(user, page):
    friday_morning = dt.datetime(2026, 11, 27, 10, 0, tzinfo=IST)
    with time_machine.travel(friday_morning, tick=False) as clock:
        data = trading_week(user, days=WEEK[-1:], open_last_day=True)
        quotes = {
            i.pk: Quote.objects.create(instrument=i, ltp=Decimal("50"), updated_at=timezone.now())
            for i in data["instruments"].values()
        }
        assert intraday_marks_sample(now=timezone.now()) == 1
        clock.shift(dt.timedelta(minutes=1))
        Quote.objects.filter(pk__in=list(quotes)).update(updated_at=timezone.now())
        Quote.objects.filter(instrument=data["instruments"][1]).update(ltp=Decimal("70"))  # the short put rises
        assert intraday_marks_sample(now=timezone.now()) == 1
        samples = list(IntradayMark.objects.values_list("mtm", flat=True))
        # shorts at 100 and 90, longs at 30 and 25, 195 units each: at 50 → (50 + 40 + 20 + 25) × 195 = 26,325;
        # the short put at 70 → (30 + 40 + 20 + 25) × 195 = 22,425
        assert samples == [Decimal("26325.00"), Decimal("22425.00")]
        html = page.get(f"/strategies/{data['strategy'].pk}/intraday/").content.decode()
    assert 'data-holding="true"' in html and 'hx-trigger="every 60s"' in html
    assert 'data-points="2"' in html and "10:00" in html and "10:01" in html


def test_basket_list_shows_each_baskets_return_sharpe_and_drawdown(week, page):
    html = page.get("/baskets/").content.decode()
    metrics = week["strategy"].basket.__class__.objects.get(pk=week["strategy"].basket_id).performance_metrics
    assert f'data-testid="basket-return">{metrics["total_return"]}<' in html
