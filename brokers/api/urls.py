from django.urls import path

from . import views

urlpatterns = [
    path("broker-accounts/", views.BrokerAccountListCreate.as_view(), name="broker-account-list"),
    path("broker-accounts/<str:client_id>/", views.BrokerAccountDetail.as_view(), name="broker-account-detail"),
    path("broker-accounts/<str:client_id>/check/", views.BrokerAccountCheck.as_view(), name="broker-account-check"),
]
