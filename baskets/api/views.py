from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics

from config.api import OwnedQuerysetMixin

from .. import services
from ..models import Basket
from .serializers import BasketSerializer


class BasketQuerysetMixin(OwnedQuerysetMixin):
    serializer_class = BasketSerializer
    lookup_field = "id"
    lookup_url_kwarg = "basket_id"

    def get_queryset(self):
        return self.scope(Basket.objects.prefetch_related("strategies"))


class BasketListCreate(BasketQuerysetMixin, generics.ListCreateAPIView):
    def perform_create(self, serializer):
        serializer.instance = services.basket_create(owner=self.request.user, **serializer.validated_data)


class BasketDetail(BasketQuerysetMixin, generics.RetrieveUpdateDestroyAPIView):
    def perform_update(self, serializer):
        serializer.instance = services.basket_update(basket=serializer.instance, **serializer.validated_data)

    @extend_schema(responses={204: None, 409: OpenApiResponse(description="The basket has active strategies.")})
    def delete(self, request, *args, **kwargs):
        return super().delete(request, *args, **kwargs)

    def perform_destroy(self, instance):
        services.basket_delete(basket=instance)
