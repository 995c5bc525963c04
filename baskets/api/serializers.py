from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.api import HHMMField, MoneyField, PerformanceMetricsSerializer, RejectUnknownFieldsMixin, StrictCharField

from ..models import Basket


class BasketStrategySummarySerializer(serializers.Serializer):
    strategy_id = serializers.UUIDField(source="id")
    strategy_name = serializers.CharField()
    underlying = serializers.CharField()
    product = serializers.CharField()
    entry_time = HHMMField()
    exit_time = HHMMField()
    status = serializers.CharField()


class BasketSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    basket_id = serializers.UUIDField(source="id", read_only=True)
    basket_name = StrictCharField(max_length=120)
    description = StrictCharField(required=False, allow_blank=True, max_length=2000)
    initial_capital = MoneyField(min_value=Decimal("0"), max_digits=16)
    deployable_percentage = MoneyField(
        max_digits=5, min_value=Decimal("0"), max_value=Decimal("100"), required=False, help_text="0-100"
    )
    current_capital = MoneyField(read_only=True)
    deployable_capital = MoneyField(read_only=True, help_text="current (or initial) capital × deployable %")
    performance_metrics = PerformanceMetricsSerializer(read_only=True)
    strategy_count = serializers.SerializerMethodField()
    strategies = serializers.SerializerMethodField()

    class Meta:
        model = Basket
        fields = [
            "basket_id",
            "basket_name",
            "description",
            "initial_capital",
            "deployable_percentage",
            "current_capital",
            "deployable_capital",
            "created_by_type",
            "status",
            "version",
            "strategy_count",
            "performance_metrics",
            "strategies",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_by_type", "version", "created_at", "updated_at"]

    def _strategies(self, basket):
        return [s for s in basket.strategies.all() if s.status != "ARCHIVED"]

    @extend_schema_field(serializers.IntegerField())
    def get_strategy_count(self, basket):
        return len(self._strategies(basket))

    @extend_schema_field(BasketStrategySummarySerializer(many=True))
    def get_strategies(self, basket):
        return BasketStrategySummarySerializer(self._strategies(basket), many=True).data
