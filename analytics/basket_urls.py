from django.urls import path

from . import basket_views as views

# The basket pages keep their "baskets:" URL names (basket_views.py says why they live in analytics).
app_name = "baskets"

urlpatterns = [
    path("baskets/", views.basket_list, name="list"),
    path("baskets/new/", views.basket_create, name="create"),
    path("baskets/<uuid:basket_id>/", views.basket_detail, name="detail"),
    path("baskets/<uuid:basket_id>/edit/", views.basket_edit, name="edit"),
    path("baskets/<uuid:basket_id>/delete/", views.basket_delete, name="delete"),
]
