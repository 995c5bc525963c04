"""Trader pages (server-rendered). Each app's views.py/urls.py adds its own pages here."""

urlpatterns = []
