from django.urls import path

from . import views

app_name = "analytics"
urlpatterns = [
    path("baskets/<uuid:basket_id>/performance/", views.basket_performance, name="basket-performance"),
    path("baskets/<uuid:basket_id>/performance.csv", views.basket_performance_csv, name="basket-performance-csv"),
    path("strategies/<uuid:strategy_id>/performance/", views.strategy_performance, name="strategy-performance"),
    path(
        "strategies/<uuid:strategy_id>/performance.csv",
        views.strategy_performance_csv,
        name="strategy-performance-csv",
    ),
    path("quotes/chain/", views.option_chain, name="option-chain"),
    path("strategies/<uuid:strategy_id>/intraday/", views.strategy_intraday, name="strategy-intraday"),
]
