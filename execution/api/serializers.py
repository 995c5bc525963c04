from decimal import Decimal

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.api import HHMMField, MoneyField, RejectUnknownFieldsMixin, StrictBooleanField, StrictCharField
from market.quotes import is_stale

from ..models import Execution, Order, Position
from ..selectors import book_charges, charges_of


class LegExecutionSerializer(serializers.Serializer):
    leg_no = serializers.IntegerField()
    transaction_type = serializers.CharField(allow_null=True)
    tradingsymbol = serializers.CharField(allow_null=True)
    base_lots = serializers.IntegerField(allow_null=True)
    final_lots = serializers.IntegerField(allow_null=True)
    multiplier_applied = serializers.FloatField(allow_null=True)
    quantity = serializers.IntegerField()
    filled_quantity = serializers.IntegerField()
    status = serializers.CharField()
    message = serializers.CharField(allow_blank=True)
    order_tags = serializers.ListField(child=serializers.CharField())


class BrokerExecutionSerializer(serializers.Serializer):
    client_id = serializers.CharField()
    broker = serializers.CharField(allow_null=True)
    lot_multiplier = serializers.FloatField(allow_null=True)
    total_lots = serializers.IntegerField()
    status = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)
    leg_executions = LegExecutionSerializer(many=True)


class ExecutionSerializer(serializers.ModelSerializer):
    execution_id = serializers.UUIDField(source="id")
    strategy_id = serializers.UUIDField(source="strategy.id")
    strategy_name = serializers.CharField(source="strategy.strategy_name")
    underlying = serializers.CharField(source="strategy.underlying")
    execution_time = HHMMField()
    execution_results = serializers.SerializerMethodField()

    class Meta:
        model = Execution
        fields = [
            "execution_id",
            "strategy_id",
            "strategy_name",
            "underlying",
            "execution_type",
            "execution_date",
            "execution_time",
            "due_at",
            "trigger",
            "status",
            "scheduled_at",
            "started_at",
            "completed_at",
            "total_legs",
            "total_lots",
            "brokers_involved",
            "error",
            "execution_results",
        ]

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "successful_orders": {"type": "integer"},
                "failed_orders": {"type": "integer"},
                "unknown_orders": {"type": "integer"},
                "open_orders": {"type": "integer"},
                "total_premium": {"type": "number"},
                "execution_time_ms": {
                    "type": "integer",
                    "description": "From the start of the run to its completion (a working run: to its last step)",
                },
                "placement_time_ms": {
                    "type": "integer",
                    "description": "A run that worked: how long its first attempt (planning and placement) took",
                },
            },
        }
    )
    def get_execution_results(self, execution):
        return {k: v for k, v in execution.execution_results.items() if k != "broker_executions"}


class ExecutionDetailSerializer(ExecutionSerializer):
    broker_executions = BrokerExecutionSerializer(many=True, source="execution_results.broker_executions", default=list)

    class Meta(ExecutionSerializer.Meta):
        fields = ExecutionSerializer.Meta.fields + ["broker_executions"]

    def to_representation(self, execution):
        data = super().to_representation(execution)
        data["broker_executions"] = BrokerExecutionSerializer(
            execution.execution_results.get("broker_executions", []), many=True
        ).data
        return data


MANUAL_TYPES = [("entry", "entry"), ("exit", "exit"), ("ENTRY", "ENTRY"), ("EXIT", "EXIT")]


class ManualExecutionSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    strategy_id = serializers.UUIDField()
    execution_type = serializers.ChoiceField(
        choices=[("entry", "entry"), ("exit", "exit"), ("ENTRY", "ENTRY"), ("EXIT", "EXIT")]
    )
    force = StrictBooleanField(default=False)


class ScheduleItemSerializer(serializers.Serializer):
    strategy_id = serializers.UUIDField()
    strategy_name = serializers.CharField()
    underlying = serializers.CharField()
    execution_type = serializers.CharField()
    execution_time = HHMMField()
    due_at = serializers.DateTimeField()
    execution_id = serializers.UUIDField(allow_null=True)
    status = serializers.CharField(help_text="The Execution row's status, or PLANNED when none exists yet")


class ScheduleSerializer(serializers.Serializer):
    date = serializers.DateField()
    is_trading_day = serializers.DictField(child=serializers.BooleanField(), help_text="per exchange (NSE, BSE)")
    holidays = serializers.ListField(child=serializers.CharField(), help_text="exchanges closed on this date")
    is_confirmed = serializers.DictField(
        child=serializers.BooleanField(),
        help_text="per exchange: false past the holiday calendar's horizon, where the day is traded as an "
        "ordinary weekday because its holidays are not known",
    )
    executions = ScheduleItemSerializer(many=True)


class OrderSerializer(serializers.ModelSerializer):
    order_id = serializers.UUIDField(source="id")
    execution_id = serializers.UUIDField(source="execution.id")
    strategy_id = serializers.UUIDField()
    client_id = serializers.CharField(source="broker_account.client_id")
    tradingsymbol = serializers.CharField(source="instrument.tradingsymbol")
    limit_price = MoneyField(max_digits=12, allow_null=True)
    average_price = MoneyField(max_digits=12, allow_null=True)

    class Meta:
        model = Order
        fields = [
            "order_id",
            "execution_id",
            "strategy_id",
            "client_id",
            "leg_no",
            "slice_no",
            "tradingsymbol",
            "side",
            "lots",
            "quantity",
            "order_type",
            "limit_price",
            "tag",
            "broker_order_id",
            "status",
            "filled_quantity",
            "average_price",
            "error",
            "created_at",
            "sent_at",
            "updated_at",
        ]


class PositionSerializer(serializers.ModelSerializer):
    strategy_id = serializers.UUIDField(source="strategy.id")
    strategy_name = serializers.CharField(source="strategy.strategy_name")
    client_id = serializers.CharField(source="broker_account.client_id")
    tradingsymbol = serializers.CharField(source="instrument.tradingsymbol")
    lot_size = serializers.IntegerField(source="instrument.lot_size")
    average_price = MoneyField(max_digits=12)
    realized_pnl = MoneyField()
    last_price = serializers.SerializerMethodField()
    quote_stale = serializers.SerializerMethodField()
    unrealized_pnl = serializers.SerializerMethodField()
    gross_pnl = serializers.SerializerMethodField()
    fees = serializers.SerializerMethodField()
    net_pnl = serializers.SerializerMethodField()

    class Meta:
        model = Position
        fields = [
            "strategy_id",
            "strategy_name",
            "client_id",
            "tradingsymbol",
            "lot_size",
            "net_quantity",
            "average_price",
            "last_price",
            "quote_stale",
            "realized_pnl",
            "unrealized_pnl",
            "gross_pnl",
            "fees",
            "net_pnl",
            "updated_at",
        ]

    def _quote(self, position):
        return getattr(position.instrument, "quote", None)

    @extend_schema_field(MoneyField(allow_null=True))
    def get_last_price(self, position):
        quote = self._quote(position)
        return float(quote.ltp) if quote else None

    @extend_schema_field(serializers.BooleanField(allow_null=True))
    def get_quote_stale(self, position):
        quote = self._quote(position)
        return is_stale(quote.updated_at, timezone.now()) if quote else None

    def _unrealized(self, position) -> Decimal | None:
        quote = self._quote(position)
        if not position.net_quantity:
            return Decimal(0)
        if quote is None:
            return None
        return ((quote.ltp - position.average_price) * position.net_quantity).quantize(Decimal("0.01"))

    def _fees(self, position) -> Decimal:
        """The estimated charges of the line's executed orders; the view computes them for the page at once
        (`context["charges"]`, from `selectors.book_charges`)."""
        charges = self.context.get("charges")
        if charges is None:
            charges = book_charges(strategy_ids=[position.strategy_id])
        return charges_of(charges, position)

    @extend_schema_field(MoneyField(allow_null=True, help_text="(last price − average price) × net quantity"))
    def get_unrealized_pnl(self, position):
        unrealized = self._unrealized(position)
        return None if unrealized is None else float(unrealized)

    @extend_schema_field(MoneyField(allow_null=True, help_text="realized + unrealized (₹); null: no price"))
    def get_gross_pnl(self, position):
        unrealized = self._unrealized(position)
        return None if unrealized is None else float(position.realized_pnl + unrealized)

    @extend_schema_field(MoneyField(help_text="estimated charges of the line's executed orders (₹, CHARGES_* rates)"))
    def get_fees(self, position):
        return float(self._fees(position))

    @extend_schema_field(MoneyField(allow_null=True, help_text="gross − fees (₹); null: no price"))
    def get_net_pnl(self, position):
        unrealized = self._unrealized(position)
        return None if unrealized is None else float(position.realized_pnl + unrealized - self._fees(position))


class KillSwitchSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    flatten = StrictBooleanField(default=False, help_text="Also close every open position (one exit per strategy)")
    reason = StrictCharField(max_length=200, required=False, default="engaged by the user")


class KillSwitchResultSerializer(serializers.Serializer):
    accounts = serializers.ListField(child=serializers.CharField())
    entries_blocked = serializers.BooleanField()
    exit_execution_ids = serializers.ListField(child=serializers.UUIDField())


class MismatchSerializer(serializers.Serializer):
    tradingsymbol = serializers.CharField()
    broker_quantity = serializers.IntegerField()
    book_quantity = serializers.IntegerField()


class UnknownOrderSerializer(serializers.Serializer):
    tag = serializers.CharField()
    broker_order_id = serializers.CharField()
    status = serializers.CharField()


class ReconciliationSerializer(serializers.Serializer):
    client_id = serializers.CharField()
    ok = serializers.BooleanField()
    error = serializers.CharField(allow_blank=True)
    mismatches = MismatchSerializer(many=True)
    unknown_orders = UnknownOrderSerializer(many=True)


class AlertSerializer(serializers.ModelSerializer):
    alert_id = serializers.IntegerField(source="id")
    strategy_id = serializers.UUIDField(allow_null=True)
    execution_id = serializers.UUIDField(allow_null=True)
    client_id = serializers.CharField(source="broker_account.client_id", allow_null=True, default=None)

    class Meta:
        from ..models import Alert

        model = Alert
        fields = [
            "alert_id",
            "kind",
            "severity",
            "message",
            "strategy_id",
            "execution_id",
            "client_id",
            "created_at",
            "acknowledged_at",
        ]


class FeedStatusSerializer(serializers.Serializer):
    underlying = serializers.CharField()
    ltp = MoneyField(max_digits=12)
    updated_at = serializers.DateTimeField()
    stale = serializers.BooleanField()


class CalendarHorizonSerializer(serializers.Serializer):
    exchange = serializers.CharField()
    confirmed_until = serializers.DateField(allow_null=True, help_text="The last day whose holidays are known")
    days_left = serializers.IntegerField(allow_null=True, help_text="Negative once the horizon has passed")
    state = serializers.ChoiceField(
        choices=["OK", "DUE", "PASSED", "UNKNOWN"],
        help_text="DUE from 30 days before the horizon; past it, days trade as ordinary weekdays (unconfirmed)",
    )


class MarketStatusSerializer(serializers.Serializer):
    feeds = FeedStatusSerializer(many=True, help_text="The market-data feed per underlying")
    calendar = CalendarHorizonSerializer(many=True, help_text="Each exchange's holiday calendar horizon")
    readiness = serializers.CharField(help_text="What ops must do about the calendar today; empty when nothing")
