from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from config.exceptions import DomainError
from strategies.models import Strategy

from .. import selectors, services
from ..models import Allocation
from .serializers import (
    AdvancedAllocationsRequestSerializer,
    AdvancedAllocationsResponseSerializer,
    AdvancedAllocationsSerializer,
    AllocationSerializer,
    AllocationSummarySerializer,
    AllocationWriteSerializer,
)


class StrategyAllocationsMixin:
    def strategy(self):
        if not hasattr(self, "_strategy"):
            self._strategy = get_object_or_404(Strategy, owner=self.request.user, pk=self.kwargs["strategy_id"])
        return self._strategy

    def get_queryset(self):
        return selectors.allocations_for_strategy(strategy=self.strategy())

    def represent(self, allocations, *, many=True):
        strategy = self.strategy()
        items = [
            {"allocation": allocation, "breakdown": item}
            for allocation, item in selectors.breakdowns_for_strategy(strategy=strategy, allocations=allocations)
        ]
        return AllocationSerializer(items, many=True).data if many else AllocationSerializer(items[0]).data

    def fresh(self, allocations):
        ids = [allocation.pk for allocation in allocations]
        return list(self.get_queryset().filter(pk__in=ids))


def _unwrap_single(exc: DomainError) -> DomainError:
    """The service keys errors by item index; a single-allocation request answers them unkeyed."""
    if isinstance(exc.message, dict) and "allocations" in exc.message:
        return DomainError(exc.message["allocations"].get("0", exc.message))
    return exc


class AllocationListCreate(StrategyAllocationsMixin, generics.GenericAPIView):
    serializer_class = AllocationWriteSerializer

    @extend_schema(responses={200: AllocationSerializer(many=True)})
    def get(self, request, strategy_id):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.represent(page))

    @extend_schema(request=AllocationWriteSerializer, responses={201: AllocationSerializer})
    def post(self, request, strategy_id):
        strategy = self.strategy()
        write = AllocationWriteSerializer(data=request.data, context={"request": request})
        write.is_valid(raise_exception=True)
        try:
            created = services.allocations_create(strategy=strategy, items=[write.validated_data["input"]])
        except DomainError as exc:
            raise _unwrap_single(exc) from None
        return Response(self.represent(self.fresh(created))[0], status=status.HTTP_201_CREATED)


class AllocationAdvancedCreate(StrategyAllocationsMixin, generics.GenericAPIView):
    """Create several allocations atomically: all or none (seed 001, Step 4)."""

    serializer_class = AdvancedAllocationsSerializer

    @extend_schema(request=AdvancedAllocationsRequestSerializer, responses={201: AdvancedAllocationsResponseSerializer})
    def post(self, request, strategy_id):
        strategy = self.strategy()
        write = AdvancedAllocationsSerializer(data=request.data, context={"request": request})
        write.is_valid(raise_exception=True)
        inputs = [item["input"] for item in write.validated_data["allocations"]]
        created = services.allocations_create(strategy=strategy, items=inputs)
        body = {"allocations": self.represent(self.fresh(created))}
        return Response(body, status=status.HTTP_201_CREATED)


class AllocationSummary(StrategyAllocationsMixin, generics.GenericAPIView):
    serializer_class = AllocationSummarySerializer

    def get(self, request, strategy_id):
        summary = selectors.strategy_allocation_summary(strategy=self.strategy())
        return Response(AllocationSummarySerializer(summary).data)


class AllocationDetail(StrategyAllocationsMixin, generics.GenericAPIView):
    serializer_class = AllocationWriteSerializer

    def allocation(self) -> Allocation:
        return get_object_or_404(self.get_queryset(), broker_account__client_id=self.kwargs["client_id"])

    @extend_schema(responses={200: AllocationSerializer})
    def get(self, request, strategy_id, client_id):
        return Response(self.represent([self.allocation()])[0])

    def _write(self, request, *, partial):
        allocation = self.allocation()
        data = request.data
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
        if partial:
            current = {"client_id": allocation.broker_account.client_id, "priority": allocation.priority}
            current["status"] = allocation.status
            current["risk_limits"] = allocation.risk_limits
            current["execution_config"] = allocation.execution_config
            if "strategy_lots_multiplier" not in data and "allocation_config" not in data:
                current["allocation_config"] = self.represent([allocation])[0]["allocation_config"]
            data = {**current, **data}
        data.setdefault("client_id", allocation.broker_account.client_id)
        if data["client_id"] != allocation.broker_account.client_id:
            raise serializers.ValidationError({"client_id": ["The account of an allocation cannot change."]})
        write = AllocationWriteSerializer(data=data, context={"request": request})
        write.is_valid(raise_exception=True)
        services.allocation_update(allocation=allocation, data=write.validated_data["input"])
        return Response(self.represent(self.fresh([allocation]))[0])

    @extend_schema(request=AllocationWriteSerializer, responses={200: AllocationSerializer})
    def put(self, request, strategy_id, client_id):
        return self._write(request, partial=False)

    @extend_schema(request=AllocationWriteSerializer, responses={200: AllocationSerializer})
    def patch(self, request, strategy_id, client_id):
        return self._write(request, partial=True)

    @extend_schema(responses={204: None})
    def delete(self, request, strategy_id, client_id):
        services.allocation_delete(allocation=self.allocation())
        return Response(status=status.HTTP_204_NO_CONTENT)
