from django.urls import path

from . import views

urlpatterns = [
    path("options/strategies/", views.StrategyListCreate.as_view(), name="strategy-list"),
    path("options/strategies/<uuid:strategy_id>/", views.StrategyDetail.as_view(), name="strategy-detail"),
    path("options/strategies/<uuid:strategy_id>/legs/", views.LegListCreate.as_view(), name="leg-list"),
    path("options/strategies/<uuid:strategy_id>/legs/<int:leg_no>/", views.LegDetail.as_view(), name="leg-detail"),
    path(
        "options/baskets/<uuid:basket_id>/strategies/",
        views.BasketStrategyListCreate.as_view(),
        name="basket-strategy-list",
    ),
]
