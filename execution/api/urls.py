from django.urls import path

from . import views

urlpatterns = [
    path("options/executions/schedule/", views.ScheduleView.as_view(), name="execution-schedule"),
    path("options/executions/history/", views.ExecutionHistory.as_view(), name="execution-history"),
    path("options/executions/manual/", views.ManualExecution.as_view(), name="execution-manual"),
    path("options/executions/<uuid:execution_id>/", views.ExecutionDetail.as_view(), name="execution-detail"),
    path("options/positions/", views.PositionList.as_view(), name="position-list"),
    path("options/orders/", views.OrderList.as_view(), name="order-list"),
    path("options/orders/<uuid:order_id>/cancel/", views.OrderCancel.as_view(), name="order-cancel"),
    path("options/orders/<uuid:order_id>/to-market/", views.OrderToMarket.as_view(), name="order-to-market"),
    path("broker-accounts/<str:client_id>/kill-switch/", views.AccountKillSwitch.as_view(), name="account-kill-switch"),
    path("broker-accounts/<str:client_id>/reconciliation/", views.Reconciliation.as_view(), name="reconciliation"),
    path("kill-switch/", views.UserKillSwitch.as_view(), name="kill-switch"),
    path("alerts/", views.AlertList.as_view(), name="alert-list"),
    path("alerts/<int:alert_id>/acknowledge/", views.AlertAcknowledge.as_view(), name="alert-acknowledge"),
    path("market/status/", views.FeedStatus.as_view(), name="feed-status"),
]
