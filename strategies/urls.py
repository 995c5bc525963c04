from django.urls import path

from . import views

app_name = "strategies"

urlpatterns = [
    path("strategies/", views.strategy_list, name="list"),
    path("strategies/new/", views.strategy_create, name="create"),
    path("strategies/<uuid:strategy_id>/", views.strategy_detail, name="detail"),
    path("strategies/<uuid:strategy_id>/delete/", views.strategy_delete, name="delete"),
    path("strategies/<uuid:strategy_id>/payoff/", views.payoff_partial, name="payoff"),
    path("strategies/<uuid:strategy_id>/legs/", views.leg_add, name="leg_add"),
    path("strategies/<uuid:strategy_id>/legs/<int:leg_no>/", views.leg_update, name="leg_update"),
    path("strategies/<uuid:strategy_id>/legs/<int:leg_no>/delete/", views.leg_delete, name="leg_delete"),
    path("strategies/<uuid:strategy_id>/legs/<int:leg_no>/move/", views.leg_move, name="leg_move"),
]
