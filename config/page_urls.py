"""Trader pages (server-rendered). Each app's views.py/urls.py adds its own pages here."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import include, path


@login_required
def home(request):
    return redirect("execution:dashboard")


urlpatterns = [
    path("", home, name="home"),
    path("", include("brokers.urls")),
    path("", include("analytics.basket_urls")),
    path("", include("strategies.urls")),
    path("", include("allocations.urls")),
    path("", include("execution.urls")),
    path("", include("analytics.urls")),
]
