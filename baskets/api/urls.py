from django.urls import path

from . import views

urlpatterns = [
    path("options/baskets/", views.BasketListCreate.as_view(), name="basket-list"),
    path("options/baskets/<uuid:basket_id>/", views.BasketDetail.as_view(), name="basket-detail"),
]
