import re
from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from brokers.margin import FORMULA as MARGIN_FORMULA
from brokers.models import BrokerAccount
from config.api import (
    MoneyField,
    RejectUnknownFieldsMixin,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    validate_each,
)

from ..models import Allocation
from ..services import AllocationInput


class RiskLimitsSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    max_daily_trades = StrictIntegerField(min_value=0, required=False)
    max_daily_loss = MoneyField(min_value=Decimal("0"), required=False)
    max_position_value = MoneyField(min_value=Decimal("0"), required=False)
    max_margin_utilization = MoneyField(
        max_digits=5, min_value=Decimal("0"), max_value=Decimal("100"), required=False, help_text="0-100 (%)"
    )


class ExecutionConfigSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    execution_delay_ms = StrictIntegerField(min_value=0, max_value=60000, required=False)
    prefer_for_entries = StrictBooleanField(required=False)
    prefer_for_exits = StrictBooleanField(required=False)
    enable_auto_rebalance = StrictBooleanField(required=False)


class LegOverrideSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    lots = StrictIntegerField(min_value=1, max_value=10000)
    enabled = StrictBooleanField(default=True)
    notes = StrictCharField(max_length=200, required=False, allow_blank=True)


class LegOverridesField(serializers.DictField):
    """{"<leg_no>": {lots, enabled, notes?}} keyed by the leg number as a string, as in seed 001."""

    child = LegOverrideSerializer()

    def to_internal_value(self, data):
        overrides = super().to_internal_value(data)
        result, errors = {}, {}
        for key, value in overrides.items():
            # ASCII digits only: str.isdigit() also takes "²" (int() fails) and "١" (int() reads it as 1).
            if not re.fullmatch(r"[0-9]+", str(key)) or int(key) < 1:
                errors[str(key)] = ['Keys are leg numbers ("1", "2", …).']
            else:
                result[int(key)] = value
        if errors:
            raise serializers.ValidationError(errors)
        return result


class AllocationConfigSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    type = serializers.ChoiceField(choices=Allocation.Type.choices)
    leg_overrides = LegOverridesField(required=False)
    strategy_lots_multiplier = MoneyField(max_digits=8, decimal_places=3, required=False)


def _json(data):
    return {k: (float(v) if isinstance(v, Decimal) else v) for k, v in data.items()}


class AllocationWriteSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """One allocation. Give `strategy_lots_multiplier` (STRATEGY_LEVEL) or `allocation_config` (either type)."""

    client_id = StrictCharField(max_length=32, help_text="One of your broker accounts.")
    priority = StrictIntegerField(min_value=1, max_value=100, default=1)
    strategy_lots_multiplier = MoneyField(
        max_digits=8,
        decimal_places=3,
        required=False,
        help_text="STRATEGY_LEVEL: final lots = floor(base lots × multiplier). Must be greater than 0.",
    )
    allocation_config = AllocationConfigSerializer(required=False)
    risk_limits = RiskLimitsSerializer(required=False)
    execution_config = ExecutionConfigSerializer(required=False)
    status = serializers.ChoiceField(choices=[("ACTIVE", "ACTIVE"), ("PAUSED", "PAUSED")], default="ACTIVE")

    def validate_client_id(self, value):
        account = BrokerAccount.objects.filter(owner=self.context["request"].user, client_id=value).first()
        if account is None:
            raise serializers.ValidationError(f"{value} is not one of your broker accounts.")
        self._account = account
        return value

    def validate_strategy_lots_multiplier(self, value):
        if value <= 0:
            raise serializers.ValidationError("Must be greater than 0.")
        return value

    def validate(self, attrs):
        config = attrs.get("allocation_config")
        top_multiplier = attrs.get("strategy_lots_multiplier")
        if config is None and top_multiplier is None:
            raise serializers.ValidationError(
                {"strategy_lots_multiplier": ["Give strategy_lots_multiplier or allocation_config."]}
            )
        if config is not None and top_multiplier is not None:
            raise serializers.ValidationError(
                {"strategy_lots_multiplier": ["Give it inside allocation_config or at the top level, not both."]}
            )
        if config is None:
            config = {"type": Allocation.Type.STRATEGY_LEVEL, "strategy_lots_multiplier": top_multiplier}
        multiplier = config.get("strategy_lots_multiplier")
        overrides = config.get("leg_overrides") or {}
        if multiplier is not None and config.get("leg_overrides"):
            raise serializers.ValidationError(
                {"allocation_config": {"leg_overrides": ["Give leg_overrides or strategy_lots_multiplier, not both."]}}
            )
        if config["type"] == Allocation.Type.STRATEGY_LEVEL:
            if multiplier is None:
                raise serializers.ValidationError(
                    {"allocation_config": {"strategy_lots_multiplier": ["Required for STRATEGY_LEVEL."]}}
                )
            if multiplier <= 0:
                raise serializers.ValidationError(
                    {"allocation_config": {"strategy_lots_multiplier": ["Must be greater than 0."]}}
                )
        elif multiplier is not None:
            raise serializers.ValidationError(
                {"allocation_config": {"strategy_lots_multiplier": ["Not used with LEG_LEVEL; use leg_overrides."]}}
            )
        attrs["input"] = AllocationInput(
            account=self._account,
            allocation_type=config["type"],
            priority=attrs["priority"],
            strategy_lots_multiplier=multiplier,
            leg_overrides=overrides,
            risk_limits=_json(attrs.get("risk_limits", {})),
            execution_config=attrs.get("execution_config", {}),
            status=attrs["status"],
        )
        return attrs


class AdvancedAllocationsSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """Errors come back keyed by the failing item's index, like the bulk legs POST."""

    allocations = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=50)

    def validate_allocations(self, items):
        validated, _ = validate_each(items, lambda item: AllocationWriteSerializer(data=item, context=self.context))
        return validated


class AdvancedAllocationsRequestSerializer(serializers.Serializer):
    """Schema-only: the advanced POST body."""

    allocations = AllocationWriteSerializer(many=True)


class LegLineSerializer(serializers.Serializer):
    leg_no = serializers.IntegerField()
    transaction_type = serializers.CharField()
    leg_type = serializers.CharField()
    base_lots = serializers.IntegerField()
    final_lots = serializers.IntegerField()
    quantity = serializers.IntegerField(allow_null=True, help_text="final lots × the contract's lot size")
    multiplier_applied = MoneyField(max_digits=8, decimal_places=3, allow_null=True)
    source = serializers.ChoiceField(choices=["BASE", "OVERRIDE", "MULTIPLIER"])


class CalculatedTotalsSerializer(serializers.Serializer):
    total_lots_per_execution = serializers.IntegerField()
    estimated_margin_required = MoneyField(allow_null=True, help_text=MARGIN_FORMULA)
    legs_enabled = serializers.IntegerField()
    total_quantity = serializers.IntegerField(allow_null=True)


class AllocationSerializer(serializers.Serializer):
    """An allocation with its computed lots: nothing here is a stored copy, it follows the legs."""

    allocation_id = serializers.UUIDField(source="allocation.id")
    client_id = serializers.CharField(source="allocation.broker_account.client_id")
    broker = serializers.CharField(source="allocation.broker_account.broker")
    priority = serializers.IntegerField(source="allocation.priority")
    status = serializers.CharField(source="allocation.status")
    allocation_config = serializers.SerializerMethodField()
    strategy_lots_multiplier = MoneyField(
        source="allocation.strategy_lots_multiplier", max_digits=8, decimal_places=3, allow_null=True
    )
    risk_limits = RiskLimitsSerializer(source="allocation.risk_limits")
    execution_config = ExecutionConfigSerializer(source="allocation.execution_config")
    legs = LegLineSerializer(source="breakdown.legs", many=True)
    calculated_totals = CalculatedTotalsSerializer(source="breakdown.calculated_totals")
    warnings = serializers.ListField(source="breakdown.warnings", child=serializers.CharField())
    errors = serializers.ListField(source="breakdown.errors", child=serializers.CharField())
    created_at = serializers.DateTimeField(source="allocation.created_at")
    updated_at = serializers.DateTimeField(source="allocation.updated_at")

    @extend_schema_field(AllocationConfigSerializer)
    def get_allocation_config(self, item):
        allocation = item["allocation"]
        config = {"type": allocation.allocation_type}
        if allocation.allocation_type == Allocation.Type.LEG_LEVEL:
            config["leg_overrides"] = {
                str(o.leg.leg_no): {"lots": o.lots, "enabled": o.enabled, "notes": o.notes}
                for o in allocation.leg_overrides.all()
            }
        else:
            config["strategy_lots_multiplier"] = allocation.strategy_lots_multiplier
        return config


class AdvancedAllocationsResponseSerializer(serializers.Serializer):
    allocations = AllocationSerializer(many=True)


class SummaryAccountSerializer(CalculatedTotalsSerializer):
    client_id = serializers.CharField()
    priority = serializers.IntegerField()
    allocation_type = serializers.CharField()
    status = serializers.CharField()
    lots_per_leg = serializers.DictField(child=serializers.IntegerField())
    quantity_per_leg = serializers.DictField(child=serializers.IntegerField(allow_null=True))
    warnings = serializers.ListField(child=serializers.CharField())
    errors = serializers.ListField(child=serializers.CharField())


class SummaryTotalsSerializer(serializers.Serializer):
    accounts = serializers.IntegerField()
    total_lots = serializers.IntegerField()
    total_quantity = serializers.IntegerField(allow_null=True)
    estimated_margin_required = MoneyField(allow_null=True, help_text=MARGIN_FORMULA)


class AllocationSummarySerializer(serializers.Serializer):
    strategy_id = serializers.UUIDField()
    accounts = SummaryAccountSerializer(many=True)
    lots_per_leg = serializers.DictField(child=serializers.IntegerField(), help_text="Across accounts")
    totals = SummaryTotalsSerializer()
    warnings = serializers.ListField(child=serializers.CharField())
