from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from baskets.models import Basket
from config.api import parse_query_uuid

from .. import selectors, services
from ..models import Leg, Strategy
from .serializers import (
    LegBulkRequestSerializer,
    LegBulkResponseSerializer,
    LegBulkSerializer,
    LegSerializer,
    StrategySerializer,
)


def owned_basket(user, basket_id, *, field="basket_id"):
    """A basket named in a request body: another user's or a missing one is a 400 on that field."""
    basket = Basket.objects.filter(owner=user, pk=basket_id).first()
    if basket is None:
        raise serializers.ValidationError({field: ["Basket not found."]})
    return basket


uuid_param = parse_query_uuid


class StrategyQuerysetMixin:
    serializer_class = StrategySerializer
    lookup_field = "id"
    lookup_url_kwarg = "strategy_id"

    def get_queryset(self):
        return selectors.strategies_for(owner=self.request.user)


def filter_status(queryset, request):
    wanted = request.query_params.get("status")
    if wanted is None:
        return queryset.exclude(status=Strategy.Status.ARCHIVED)
    if wanted not in Strategy.Status.values:
        raise serializers.ValidationError({"status": [f"Must be one of {', '.join(Strategy.Status.values)}."]})
    return queryset.filter(status=wanted)


STATUS_PARAM = OpenApiParameter(
    "status", str, enum=list(Strategy.Status.values), description="Default: every status but ARCHIVED"
)


# The filters are the list's (GET) only: a POST does not read them, so it does not document them.
@extend_schema_view(
    get=extend_schema(
        parameters=[
            OpenApiParameter("basket_id", OpenApiTypes.UUID, description="Only this basket's strategies"),
            STATUS_PARAM,
        ]
    )
)
class StrategyListCreate(StrategyQuerysetMixin, generics.ListCreateAPIView):
    """List the user's strategies (with legs), or create a standalone strategy (optionally in basket_id)."""

    def get_queryset(self):
        queryset = filter_status(super().get_queryset(), self.request)
        basket_id = uuid_param(self.request, "basket_id")
        if basket_id:
            queryset = queryset.filter(basket_id=basket_id)
        return queryset

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        basket_id = data.pop("basket_id", None)
        basket = owned_basket(self.request.user, basket_id) if basket_id else None
        serializer.instance = services.strategy_create(owner=self.request.user, basket=basket, **data)


@extend_schema_view(get=extend_schema(parameters=[STATUS_PARAM]))
class BasketStrategyListCreate(StrategyQuerysetMixin, generics.ListCreateAPIView):
    """The strategies of one basket; POST creates a strategy inside it (seed 001, Step 2)."""

    def basket(self):
        return get_object_or_404(Basket, owner=self.request.user, pk=self.kwargs["basket_id"])

    def get_queryset(self):
        return filter_status(super().get_queryset().filter(basket=self.basket()), self.request)

    def perform_create(self, serializer):
        basket = self.basket()
        data = dict(serializer.validated_data)
        body_basket = data.pop("basket_id", None)
        if body_basket and body_basket != basket.pk:
            raise serializers.ValidationError({"basket_id": ["Differs from the basket in the URL."]})
        serializer.instance = services.strategy_create(owner=self.request.user, basket=basket, **data)


class StrategyDetail(StrategyQuerysetMixin, generics.RetrieveUpdateDestroyAPIView):
    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        if "basket_id" in data:
            basket_id = data.pop("basket_id")
            data["basket"] = owned_basket(self.request.user, basket_id) if basket_id else None
        serializer.instance = services.strategy_update(strategy=serializer.instance, **data)

    @extend_schema(
        responses={
            204: OpenApiResponse(description="Deleted: the strategy never traded."),
            200: OpenApiResponse(StrategySerializer, description="Archived: it has execution history, kept."),
            409: OpenApiResponse(description="It holds open positions."),
        }
    )
    def delete(self, request, *args, **kwargs):
        archived = services.strategy_delete(strategy=self.get_object())
        if archived is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(StrategySerializer(archived).data, status=status.HTTP_200_OK)


class StrategyLegsMixin:
    def strategy(self):
        return get_object_or_404(Strategy, owner=self.request.user, pk=self.kwargs["strategy_id"])


class LegListCreate(StrategyLegsMixin, generics.GenericAPIView):
    serializer_class = LegSerializer
    pagination_class = None

    def get_queryset(self):
        return Leg.objects.filter(strategy=self.strategy()).select_related("strategy").order_by("leg_no")

    @extend_schema(responses={200: LegSerializer(many=True)})
    def get(self, request, strategy_id):
        return Response(LegSerializer(self.get_queryset(), many=True).data)

    @extend_schema(request=LegBulkRequestSerializer, responses={201: LegBulkResponseSerializer})
    def post(self, request, strategy_id):
        strategy = self.strategy()
        bulk = LegBulkSerializer(data=request.data, strategy=strategy)
        bulk.is_valid(raise_exception=True)
        legs = services.legs_create(strategy=strategy, legs=bulk.validated_data["legs"])
        for leg in legs:
            leg.strategy = strategy
        body = {"legs": LegSerializer(legs, many=True).data, "warnings": bulk.warnings}
        return Response(body, status=status.HTTP_201_CREATED)


class LegDetail(StrategyLegsMixin, generics.RetrieveUpdateDestroyAPIView):
    serializer_class = LegSerializer
    lookup_field = "leg_no"

    def get_queryset(self):
        return Leg.objects.filter(strategy=self.strategy()).select_related("strategy")

    def get_serializer(self, *args, **kwargs):
        kwargs.setdefault("context", self.get_serializer_context())
        return LegSerializer(*args, **kwargs)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        leg = self.get_object()
        serializer = LegSerializer(leg, data=request.data, partial=partial, strategy=leg.strategy)
        serializer.is_valid(raise_exception=True)
        leg = services.leg_update(leg=leg, **serializer.validated_data)
        body = LegSerializer(leg).data
        if serializer.warnings:
            body["warnings"] = serializer.warnings
        return Response(body)

    def perform_destroy(self, instance):
        services.leg_delete(leg=instance)
