"""Daily marks from a seeded week of fills, the performance_metrics they give, and the performance API."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from analytics.models import DailyMark
from analytics.services import marks_nightly, marks_rebuild
from execution.charges import order_charges
from execution.models import Fill
from market.models import Quote
from strategies.models import Strategy

from .week import IST, WEEK, gross_of_day, trading_week

pytestmark = pytest.mark.django_db
FRIDAY_NIGHT = dt.datetime(2026, 11, 27, 23, 35, tzinfo=IST)


@pytest.fixture
def week(user):
    with time_machine.travel(FRIDAY_NIGHT, tick=False):
        data = trading_week(user)
        marks_rebuild(end=WEEK[-1])
        yield data


def test_backfill_writes_one_mark_per_account_per_trading_day(week):
    assert DailyMark.objects.count() == 10
    for n, day in enumerate(WEEK):
        marks = DailyMark.objects.filter(date=day)
        assert sum(m.gross_pnl for m in marks) == gross_of_day(n)
        assert all(m.unrealized_pnl == 0 and m.realized_pnl == m.gross_pnl for m in marks)


def test_fees_are_the_estimated_charges_of_the_days_orders_and_net_is_gross_less_fees(week):
    mark = DailyMark.objects.get(date=WEEK[0], broker_account__client_id="ZERODHA123")
    fills = Fill.objects.filter(broker_account__client_id="ZERODHA123", filled_at__date=WEEK[0])
    expected = sum(order_charges(side=f.side, turnover=f.price * f.quantity).total for f in fills)
    assert len(fills) == 8 and mark.fees == expected
    assert mark.net_pnl == mark.gross_pnl - mark.fees
    assert Decimal(mark.charges["brokerage"]) == 8 * 20


def test_backfill_command_is_idempotent(week):
    before = list(DailyMark.objects.order_by("date", "broker_account").values_list("net_pnl", flat=True))
    with time_machine.travel(FRIDAY_NIGHT, tick=False):
        call_command("backfill_marks", "--to", "2026-11-27", stdout=open("/dev/null", "w"))
        call_command("backfill_marks", stdout=open("/dev/null", "w"))
    after = list(DailyMark.objects.order_by("date", "broker_account").values_list("net_pnl", flat=True))
    assert before == after


def test_strategy_and_basket_carry_the_seed_performance_metrics(week, api):
    strategy = Strategy.objects.get(pk=week["strategy"].pk)
    assert set(strategy.performance_metrics) == {
        "total_return",
        "sharpe_ratio",
        "max_drawdown",
        "win_rate",
        "monthly_return",
        "volatility",
    }
    assert strategy.performance_metrics["win_rate"] == 80.0  # Thursday's trade lost, four won
    basket = api.get(f"/api/v1/options/baskets/{strategy.basket_id}/").json()
    net = sum(DailyMark.objects.values_list("net_pnl", flat=True))
    # on the basket's deployable capital: ₹5,00,000 × 80 %
    assert basket["performance_metrics"]["total_return"] == round(float(net) / 400000 * 100, 2)
    assert basket["performance_metrics"]["max_drawdown"] > 0
    listed = api.get(f"/api/v1/options/strategies/{strategy.pk}/").json()
    assert listed["performance_metrics"] == strategy.performance_metrics


def test_performance_endpoint_returns_series_metrics_and_attribution(week, api):
    basket_id = week["strategy"].basket_id
    body = api.get(f"/api/v1/options/baskets/{basket_id}/performance/?from=2026-11-24&to=2026-11-26").json()
    assert [p["date"] for p in body["series"]] == ["2026-11-24", "2026-11-25", "2026-11-26"]
    first = body["series"][0]
    assert first["equity"] == pytest.approx(400000 + first["daily_pnl"])
    assert body["series"][2]["drawdown"] > 0  # Thursday lost
    attribution = body["attribution"]
    assert [row["client_id"] for row in attribution["by_account"]] == ["ANGELONE456", "ZERODHA123"]
    assert [row["leg_no"] for row in attribution["by_leg"]] == [1, 2, 3, 4]
    gross = sum(gross_of_day(n) for n in (1, 2, 3))
    assert attribution["by_strategy"][0]["gross_pnl"] == gross
    assert sum(row["gross_pnl"] for row in attribution["by_leg"]) == gross
    assert sum(row["net_pnl"] for row in attribution["by_account"]) == pytest.approx(body["metrics"]["net_pnl"])
    assert body["metrics"]["closed_trades"] == 3


def test_strategy_performance_endpoint(week, api):
    body = api.get(f"/api/v1/options/strategies/{week['strategy'].pk}/performance/").json()
    assert len(body["series"]) == 5
    assert body["metrics"]["win_rate"] == 80.0
    assert body["metrics"]["profit_factor"] > 1
    assert body["metrics"]["max_drawdown_trough"] == "2026-11-26"


@pytest.mark.parametrize(
    "query, field",
    [("from=26-11-2026", "from"), ("to=yesterday", "to"), ("from=2026-11-27&to=2026-11-23", "to")],
)
def test_bad_dates_are_400_naming_the_field(week, api, query, field):
    response = api.get(f"/api/v1/options/strategies/{week['strategy'].pk}/performance/?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_another_users_basket_or_strategy_performance_is_404(week, other_api):
    strategy = week["strategy"]
    assert other_api.get(f"/api/v1/options/strategies/{strategy.pk}/performance/").status_code == 404
    assert other_api.get(f"/api/v1/options/baskets/{strategy.basket_id}/performance/").status_code == 404


def test_nightly_marks_price_open_positions_at_the_close_quote(user):
    with time_machine.travel(FRIDAY_NIGHT, tick=False):
        data = trading_week(user, days=WEEK[-1:], open_last_day=True)
        for instrument in data["instruments"].values():
            Quote.objects.create(instrument=instrument, ltp=Decimal("50"), updated_at=timezone.now())
        marks_nightly(now=timezone.now())
    marks = DailyMark.objects.filter(date=WEEK[-1])
    assert marks.count() == 2 and all(m.priced for m in marks)
    # at 50 every leg (the first day's entry prices): shorts sold at 100 and 90 gain, longs bought at 30 and 25
    # lose, × 195 units
    assert sum(m.unrealized_pnl for m in marks) == ((100 - 50) + (90 - 50) + (50 - 30) + (50 - 25)) * 195
    assert sum(m.capital_used for m in marks) > 0


def test_nightly_on_saturday_writes_nothing(week):
    with time_machine.travel(FRIDAY_NIGHT + dt.timedelta(days=1), tick=False):
        assert marks_nightly(now=timezone.now()) == 0
    assert DailyMark.objects.count() == 10
