from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from baskets.models import Basket
from execution.selectors import pnl_sum, strategy_pnl
from strategies.models import Strategy

from ..selectors import performance, performance_metrics_of
from .serializers import BasketPnlSerializer, PerformanceQuerySerializer, PerformanceSerializer

RANGE = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="first day (YYYY-MM-DD), default: the first mark"),
    OpenApiParameter("to", OpenApiTypes.DATE, description="last day (YYYY-MM-DD), default: the last mark"),
]


def _render(request, *, strategies, capital):
    query = PerformanceQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    report = performance(
        strategies=strategies,
        capital=capital,
        start=query.validated_data.get("from"),
        end=query.validated_data.get("to"),
        risk_free_rate=settings.RISK_FREE_RATE,
    )
    report.pop("summary")
    report["performance_metrics"] = performance_metrics_of(report)
    return Response(report)


class BasketPerformance(APIView):
    @extend_schema(parameters=RANGE, responses=PerformanceSerializer, operation_id="basket_performance")
    def get(self, request, basket_id):
        """The basket's daily series (equity, drawdown, daily P&L), metrics and attribution by strategy, leg
        and account, on its deployable capital."""
        basket = get_object_or_404(Basket, owner=request.user, pk=basket_id)
        return _render(request, strategies=list(basket.strategies.all()), capital=basket.deployable_capital)


class StrategyPerformance(APIView):
    @extend_schema(parameters=RANGE, responses=PerformanceSerializer, operation_id="strategy_performance")
    def get(self, request, strategy_id):
        """The strategy's daily series, metrics and attribution by leg and account, on the largest capital it
        used in the range."""
        strategy = get_object_or_404(Strategy, owner=request.user, pk=strategy_id)
        return _render(request, strategies=[strategy], capital=None)


class BasketPnl(APIView):
    @extend_schema(responses=BasketPnlSerializer, operation_id="basket_pnl")
    def get(self, request, basket_id):
        """The basket's P&L now, per strategy and in total, from the strategies' own books (the basket page's
        figures; archived strategies are left out as there): realized, unrealized at the last price, gross, the
        estimated charges of the executed orders (`fees`, rates in the CHARGES_* settings) and net = gross − fees.
        Unrealized, gross and net are null while a held contract has no price."""
        basket = get_object_or_404(Basket, owner=request.user, pk=basket_id)
        strategies = list(basket.strategies.exclude(status=Strategy.Status.ARCHIVED).order_by("strategy_name"))
        pnl = strategy_pnl(strategy_ids=[s.pk for s in strategies])
        body = {
            "basket_id": basket.pk,
            "strategies": [{"strategy_id": s.pk, "strategy_name": s.strategy_name, **pnl[s.pk]} for s in strategies],
            "total": pnl_sum(pnl.values()),
        }
        return Response(BasketPnlSerializer(body).data)
