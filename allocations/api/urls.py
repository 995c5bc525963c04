from django.urls import path

from . import views

base = "options/strategies/<uuid:strategy_id>/allocations/"
urlpatterns = [
    path(base, views.AllocationListCreate.as_view(), name="allocation-list"),
    path(f"{base}advanced/", views.AllocationAdvancedCreate.as_view(), name="allocation-advanced"),
    path(f"{base}summary/", views.AllocationSummary.as_view(), name="allocation-summary"),
    path(f"{base}<str:client_id>/", views.AllocationDetail.as_view(), name="allocation-detail"),
]
