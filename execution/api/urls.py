from django.urls import path

from . import views

urlpatterns = [
    path("options/executions/schedule/", views.ScheduleView.as_view(), name="execution-schedule"),
    path("options/executions/history/", views.ExecutionHistory.as_view(), name="execution-history"),
    path("options/executions/manual/", views.ManualExecution.as_view(), name="execution-manual"),
    path("options/executions/<uuid:execution_id>/", views.ExecutionDetail.as_view(), name="execution-detail"),
    path("options/positions/", views.PositionList.as_view(), name="position-list"),
    path("options/orders/", views.OrderList.as_view(), name="order-list"),
]
