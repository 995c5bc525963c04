from django.urls import path

from . import views, webhooks

app_name = "execution"
urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/positions/", views.live_positions, name="live-positions"),
    path("dashboard/panels/<slug:name>/", views.dashboard_panel, name="dashboard-panel"),
    path("schedule/", views.schedule_page, name="schedule"),
    path("executions/", views.history, name="history"),
    path("executions/run/", views.manual_run, name="manual-run"),
    path("executions/<uuid:execution_id>/", views.detail, name="detail"),
    path("orders/<uuid:order_id>/cancel/", views.order_action, {"action": "cancel"}, name="order-cancel"),
    path("orders/<uuid:order_id>/to-market/", views.order_action, {"action": "to-market"}, name="order-to-market"),
    path("positions/", views.positions, name="positions"),
    path("kill-switch/", views.kill_switch, name="kill-switch"),
    path("alerts/<int:alert_id>/acknowledge/", views.acknowledge_alert, name="acknowledge-alert"),
    path("brokers/zerodha/postback/", webhooks.kite_postback, name="kite-postback"),
]
