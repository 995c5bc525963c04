from django.urls import path

from . import views

urlpatterns = [
    path("options/baskets/<uuid:basket_id>/performance/", views.BasketPerformance.as_view(), name="basket-performance"),
    path("options/baskets/<uuid:basket_id>/pnl/", views.BasketPnl.as_view(), name="basket-pnl"),
    path(
        "options/strategies/<uuid:strategy_id>/performance/",
        views.StrategyPerformance.as_view(),
        name="strategy-performance",
    ),
]
