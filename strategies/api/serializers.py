from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.api import (
    HHMMField,
    MoneyField,
    PerformanceMetricsSerializer,
    RejectUnknownFieldsMixin,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    validate_each,
)

from .. import rules
from ..models import LEG_SETTINGS, WEEKDAYS, Leg, Strategy, Underlying


class StrikeSelectionSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    method = serializers.ChoiceField(choices=Leg.EntryBy.choices)
    delta_value = MoneyField(
        max_digits=5,
        decimal_places=4,
        required=False,
        help_text="DELTA: target absolute delta, strictly between 0 and 1.",
    )
    strike_distance = MoneyField(
        max_digits=8,
        decimal_places=2,
        required=False,
        min_value=Decimal("0"),
        help_text="STRIKE_DISTANCE: points from ATM, away from the money, rounded to the strike step.",
    )
    atm_offset = StrictIntegerField(
        required=False,
        min_value=-50,
        max_value=50,
        help_text="ATM_OFFSET: strikes from ATM; positive is out of the money for the leg's side.",
    )

    def validate_delta_value(self, value):
        if not (Decimal("0") < value < Decimal("1")):
            raise serializers.ValidationError("delta_value must be strictly between 0 and 1.")
        return value

    def validate(self, attrs):
        parameter = rules.METHOD_PARAMETER[attrs["method"]]
        if parameter not in attrs:
            raise serializers.ValidationError({parameter: [f"Required when method is {attrs['method']}."]})
        extra = [name for name in rules.METHOD_PARAMETER.values() if name != parameter and name in attrs]
        if extra:
            raise serializers.ValidationError({extra[0]: [f"Not used when method is {attrs['method']}."]})
        return attrs


class PositionSizingSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    min_lots = StrictIntegerField(required=False, min_value=1)
    max_lots = StrictIntegerField(required=False, min_value=1)
    lot_increment = StrictIntegerField(required=False, min_value=1)

    def validate(self, attrs):
        if "min_lots" in attrs and "max_lots" in attrs and attrs["max_lots"] < attrs["min_lots"]:
            raise serializers.ValidationError({"max_lots": ["max_lots must not be below min_lots."]})
        return attrs


def _json_ready(config: dict) -> dict:
    return {key: (float(value) if isinstance(value, Decimal) else value) for key, value in config.items()}


def _iso(value):
    return serializers.DateTimeField().to_representation(value)


class LegSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    leg_no = StrictIntegerField(min_value=1, max_value=99)
    lots = StrictIntegerField(min_value=1, max_value=10000, help_text="Base lots; allocations may override them.")
    underlying = serializers.ChoiceField(
        choices=Underlying.choices,
        required=False,
        help_text="Optional; when given it must equal the strategy's underlying.",
    )
    entry_by = serializers.ChoiceField(choices=Leg.EntryBy.choices, required=False)
    strike_selection_config = StrikeSelectionSerializer(
        required=False,
        help_text="Optional. Defaults when absent (echoed in `warnings`): DELTA → delta_value 0.20; "
        "STRIKE_DISTANCE → strike_distance 500 points; ATM_OFFSET → atm_offset 0.",
    )
    position_sizing = PositionSizingSerializer(required=False)
    stop_loss = MoneyField(
        max_digits=10,
        required=False,
        allow_null=True,
        min_value=Decimal("0"),
        help_text="Points of premium against the position.",
    )
    expiry_offset = StrictIntegerField(min_value=0, max_value=12, required=False, help_text="0 = nearest expiry.")
    entry_slippage = MoneyField(max_digits=8, required=False, min_value=Decimal("0"))
    exit_slippage = MoneyField(max_digits=8, required=False, min_value=Decimal("0"))
    entry_max_slippage = MoneyField(max_digits=8, required=False, min_value=Decimal("0"))
    exit_max_slippage = MoneyField(max_digits=8, required=False, min_value=Decimal("0"))
    chase_after_seconds = StrictIntegerField(
        min_value=1, max_value=600, required=False, help_text="Chase policy: seconds a LIMIT order rests (default 5)."
    )
    chase_max_modifies = StrictIntegerField(
        min_value=0,
        max_value=20,
        required=False,
        help_text="Chase policy: modifies to the touch before going at market (default 2).",
    )
    market_protection_pct = MoneyField(
        max_digits=5,
        required=False,
        min_value=Decimal("0.01"),
        max_value=Decimal("20"),
        help_text="Chase policy: at market, the worst price accepted is the touch ± this percent (default 2).",
    )
    enabled = StrictBooleanField(required=False)

    class Meta:
        model = Leg
        fields = ["leg_no", "lots", "underlying", *LEG_SETTINGS, "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def __init__(self, *args, strategy=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.strategy = strategy
        self.warnings: list[str] = []

    def to_representation(self, instance):
        # Hot path of every strategy list: a plain dict with the same values DRF's generic walk produces
        # (tests/strategies/test_leg_representation.py holds the two equal).
        return {
            "leg_no": instance.leg_no,
            "lots": instance.lots,
            "transaction_type": instance.transaction_type,
            "leg_type": instance.leg_type,
            "underlying": instance.strategy.underlying,
            "entry_by": instance.entry_by,
            "strike_selection_config": instance.strike_selection_config,
            "stop_loss": instance.stop_loss,
            "expiry_type": instance.expiry_type,
            "expiry_offset": instance.expiry_offset,
            "category": instance.category,
            "order_type": instance.order_type,
            "entry_slippage": instance.entry_slippage,
            "exit_slippage": instance.exit_slippage,
            "entry_max_slippage": instance.entry_max_slippage,
            "exit_max_slippage": instance.exit_max_slippage,
            "chase_after_seconds": instance.chase_after_seconds,
            "chase_max_modifies": instance.chase_max_modifies,
            "market_protection_pct": instance.market_protection_pct,
            "position_sizing": instance.position_sizing,
            "enabled": instance.enabled,
            "created_at": _iso(instance.created_at),
            "updated_at": _iso(instance.updated_at),
        }

    def generic_representation(self, instance):
        data = super().to_representation(instance)
        data["underlying"] = instance.strategy.underlying
        return data

    def validate(self, attrs):
        strategy = self.strategy or (self.instance.strategy if self.instance else None)
        underlying = attrs.pop("underlying", None)
        if underlying and strategy and underlying != strategy.underlying:
            raise serializers.ValidationError(
                {
                    "underlying": [
                        f"The leg's underlying {underlying} differs from the strategy's {strategy.underlying}."
                    ]
                }
            )
        current = self.instance
        config = attrs.get("strike_selection_config")
        entry_by = attrs.get("entry_by")
        if config is not None and entry_by is not None and config["method"] != entry_by:
            raise serializers.ValidationError(
                {"strike_selection_config": {"method": [f"Must equal entry_by ({entry_by})."]}}
            )
        if config is not None:
            attrs["entry_by"] = config["method"]
            attrs["strike_selection_config"] = _json_ready(config)
        elif entry_by is not None and (current is None or current.entry_by != entry_by):
            default = rules.DEFAULT_STRIKE_SELECTION[entry_by]
            attrs["strike_selection_config"] = _json_ready(default)
            leg_no = attrs.get("leg_no", current.leg_no if current else "?")
            self.warnings.append(
                f"leg {leg_no}: no strike_selection_config given; using the default "
                f"{_json_ready(default)} for entry_by {entry_by}."
            )
        elif current is None:
            raise serializers.ValidationError({"entry_by": ["Give entry_by or strike_selection_config."]})
        sizing = attrs.get("position_sizing", current.position_sizing if current else {}) or {}
        lots = attrs.get("lots", current.lots if current else None)
        if lots is not None:
            if sizing.get("min_lots") and lots < sizing["min_lots"]:
                raise serializers.ValidationError({"lots": [f"Below position_sizing.min_lots {sizing['min_lots']}."]})
            if sizing.get("max_lots") and lots > sizing["max_lots"]:
                raise serializers.ValidationError({"lots": [f"Above position_sizing.max_lots {sizing['max_lots']}."]})
            if sizing.get("lot_increment") and lots % sizing["lot_increment"]:
                raise serializers.ValidationError(
                    {"lots": [f"Not a multiple of position_sizing.lot_increment {sizing['lot_increment']}."]}
                )
        return attrs


class LegBulkSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    legs = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=20)

    def __init__(self, *args, strategy=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.strategy = strategy
        self.warnings: list[str] = []

    def validate_legs(self, legs):
        validated, used = validate_each(legs, lambda item: LegSerializer(data=item, strategy=self.strategy))
        self.warnings = [warning for leg in used for warning in leg.warnings]
        return validated


class LegBulkRequestSerializer(serializers.Serializer):
    """Schema-only: the bulk POST body."""

    legs = LegSerializer(many=True)


class LegBulkResponseSerializer(serializers.Serializer):
    legs = LegSerializer(many=True)
    warnings = serializers.ListField(child=serializers.CharField())


class LegWithWarningsSerializer(LegSerializer):
    warnings = serializers.ListField(child=serializers.CharField(), read_only=True, required=False)

    class Meta(LegSerializer.Meta):
        fields = LegSerializer.Meta.fields + ["warnings"]


@extend_schema_field({"type": "array", "items": {"type": "string", "enum": WEEKDAYS}, "example": ["MONDAY"]})
class WeekdaysField(serializers.ListField):
    child = serializers.ChoiceField(choices=[(day, day) for day in WEEKDAYS])

    def __init__(self, **kwargs):
        super().__init__(min_length=1, max_length=5, **kwargs)

    def to_internal_value(self, data):
        days = super().to_internal_value(data)
        if len(set(days)) != len(days):
            raise serializers.ValidationError("Each day may appear once.")
        return sorted(days, key=WEEKDAYS.index)


class StrategySerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    strategy_id = serializers.UUIDField(source="id", read_only=True)
    basket_id = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="The basket to put a standalone-created strategy in; null for none.",
    )
    strategy_name = StrictCharField(max_length=120)
    description = StrictCharField(required=False, allow_blank=True, max_length=2000)
    entry_time = HHMMField(help_text="HH:MM Asia/Kolkata, inside the trading session 09:15-15:30.")
    exit_time = HHMMField(help_text="HH:MM Asia/Kolkata, inside the trading session 09:15-15:30.")
    entry_days = WeekdaysField()
    exit_days = WeekdaysField(required=False, help_text="Defaults to entry_days for an intraday (MIS) strategy.")
    is_intra_day = StrictBooleanField(
        required=False,
        help_text="Derived from product (MIS → true). If given it must agree with product.",
    )
    performance_metrics = PerformanceMetricsSerializer(read_only=True)
    legs = serializers.SerializerMethodField()

    class Meta:
        model = Strategy
        fields = [
            "strategy_id",
            "basket_id",
            "strategy_name",
            "description",
            "entry_time",
            "exit_time",
            "entry_days",
            "exit_days",
            "product",
            "underlying",
            "is_intra_day",
            "category",
            "status",
            "on_failed_entry",
            "created_by_type",
            "version",
            "archived_at",
            "performance_metrics",
            "created_at",
            "updated_at",
            "legs",
        ]
        read_only_fields = ["created_by_type", "version", "archived_at", "created_at", "updated_at"]
        extra_kwargs = {"status": {"help_text": "ACTIVE or PAUSED when writing; DELETE archives (ARCHIVED)."}}

    @extend_schema_field(LegSerializer(many=True))
    def get_legs(self, strategy):
        # One leg serializer for every row: building a ModelSerializer's fields costs more than using them.
        if not hasattr(self, "_legs_serializer"):
            self._legs_serializer = LegSerializer(many=True)
        return self._legs_serializer.to_representation(strategy.legs.all())

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["is_intra_day"] = instance.is_intra_day
        data["basket_id"] = str(instance.basket_id) if instance.basket_id else None
        return data

    def validate_status(self, value):
        # Archiving is DELETE's job (it also archives the allocations); a strategy is born ACTIVE or PAUSED.
        if value == Strategy.Status.ARCHIVED and (self.instance is None or self.instance.status != value):
            # Only DELETE archives: it archives the strategy's allocations too, which a status write would skip.
            verb = "created" if self.instance is None else "set"
            raise serializers.ValidationError(f"A strategy is {verb} ACTIVE or PAUSED; DELETE archives it.")
        return value

    def validate(self, attrs):
        current = self.instance
        product = attrs.get("product", current.product if current else Strategy.Product.NRML)
        derived = product == Strategy.Product.MIS
        if "is_intra_day" in attrs and attrs.pop("is_intra_day") != derived:
            raise serializers.ValidationError(
                {"is_intra_day": [f"is_intra_day must be {str(derived).lower()} for product {product}."]}
            )
        entry_days = attrs.get("entry_days", current.entry_days if current else None)
        if "exit_days" not in attrs and current is None:
            if not derived:
                raise serializers.ValidationError({"exit_days": ["This field is required."]})
            attrs["exit_days"] = entry_days
        errors = rules.strategy_time_errors(
            entry_time=attrs.get("entry_time", current.entry_time if current else None),
            exit_time=attrs.get("exit_time", current.exit_time if current else None),
            is_intra_day=derived,
            entry_days=entry_days,
            exit_days=attrs.get("exit_days", current.exit_days if current else None),
        )
        if errors:
            raise serializers.ValidationError(errors)
        return attrs
