from django.urls import path

from . import views

app_name = "brokers"

urlpatterns = [
    path("broker-accounts/", views.account_list, name="list"),
    path("broker-accounts/add/", views.account_create, name="create"),
    path("broker-accounts/<str:client_id>/edit/", views.account_edit, name="edit"),
    path("broker-accounts/<str:client_id>/check/", views.account_check, name="check"),
    path("broker-accounts/<str:client_id>/delete/", views.account_delete, name="delete"),
    path("broker-accounts/<str:client_id>/connect-zerodha/", views.zerodha_connect, name="zerodha-connect"),
    path("brokers/zerodha/callback/", views.zerodha_callback, name="zerodha-callback"),
]
