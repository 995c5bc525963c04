from django.urls import path

from . import views

app_name = "allocations"

urlpatterns = [
    path("strategies/<uuid:strategy_id>/allocations/", views.allocation_grid, name="grid"),
    path("strategies/<uuid:strategy_id>/allocations/preview/", views.allocation_preview, name="preview"),
]
