from rest_framework import serializers

from config.api import MoneyField, PerformanceMetricsSerializer


class PerformanceQuerySerializer(serializers.Serializer):
    """?from=YYYY-MM-DD&to=YYYY-MM-DD, both optional and inclusive (IST trading days)."""

    def get_fields(self):
        return {
            "from": serializers.DateField(required=False, input_formats=["%Y-%m-%d"], help_text="first day"),
            "to": serializers.DateField(required=False, input_formats=["%Y-%m-%d"], help_text="last day"),
        }

    def validate(self, attrs):
        if attrs.get("from") and attrs.get("to") and attrs["from"] > attrs["to"]:
            raise serializers.ValidationError({"to": ["Must be on or after from."]})
        return attrs


class SeriesPointSerializer(serializers.Serializer):
    date = serializers.DateField()
    equity = serializers.FloatField(allow_null=True, help_text="capital + cumulative net P&L (₹)")
    drawdown = serializers.FloatField(allow_null=True, help_text="% below the running equity peak")
    daily_pnl = serializers.FloatField(help_text="the day's net P&L (₹, after estimated charges)")
    gross_pnl = serializers.FloatField(help_text="the day's P&L before charges (₹)")
    fees = serializers.FloatField(help_text="estimated charges that day (₹)")
    capital_used = serializers.FloatField(help_text="largest estimated margin used that day (₹)")
    return_ = serializers.FloatField(allow_null=True, help_text="daily return, %")

    def get_fields(self):
        fields = super().get_fields()
        fields["return"] = fields.pop("return_")
        return fields


class ReportMetricsSerializer(PerformanceMetricsSerializer):
    max_drawdown_peak = serializers.DateField(allow_null=True, help_text="the high the max drawdown fell from")
    max_drawdown_trough = serializers.DateField(allow_null=True)
    max_drawdown_recovery = serializers.DateField(allow_null=True, help_text="null while still under water")
    average_win = serializers.FloatField(allow_null=True, help_text="₹ per winning closed trade")
    average_loss = serializers.FloatField(allow_null=True, help_text="₹ per losing closed trade (negative)")
    profit_factor = serializers.FloatField(allow_null=True, help_text="Σ wins ÷ |Σ losses|")
    expectancy = serializers.FloatField(allow_null=True, help_text="₹ expected per closed trade")
    closed_trades = serializers.IntegerField()
    gross_pnl = serializers.FloatField()
    fees = serializers.FloatField()
    net_pnl = serializers.FloatField()


class AttributionRowSerializer(serializers.Serializer):
    strategy_id = serializers.UUIDField(required=False)
    strategy_name = serializers.CharField(required=False)
    client_id = serializers.CharField(required=False)
    leg_no = serializers.IntegerField(required=False)
    gross_pnl = serializers.FloatField()
    fees = serializers.FloatField()
    net_pnl = serializers.FloatField()


class AttributionSerializer(serializers.Serializer):
    by_strategy = AttributionRowSerializer(many=True)
    by_account = AttributionRowSerializer(many=True)
    by_leg = AttributionRowSerializer(many=True)


class MonthSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    return_ = serializers.FloatField(allow_null=True, help_text="%")

    def get_fields(self):
        fields = super().get_fields()
        fields["return"] = fields.pop("return_")
        return fields


class PerformanceSerializer(serializers.Serializer):
    """What GET …/performance/ answers (documentation; the view renders the report as is)."""

    def get_fields(self):
        return {
            "from": serializers.DateField(allow_null=True),
            "to": serializers.DateField(allow_null=True),
            "capital": serializers.FloatField(help_text="the base returns are measured on (₹)"),
            "priced": serializers.BooleanField(help_text="false: some open contract had no close price"),
            "performance_metrics": PerformanceMetricsSerializer(),
            "metrics": ReportMetricsSerializer(),
            "series": SeriesPointSerializer(many=True),
            "monthly_returns": MonthSerializer(many=True),
            "attribution": AttributionSerializer(),
        }


class PnlSerializer(serializers.Serializer):
    realized_pnl = MoneyField(source="realized", help_text="₹ realized by the fills")
    unrealized_pnl = MoneyField(source="unrealized", allow_null=True, help_text="₹ at the last price; null: no price")
    gross_pnl = MoneyField(source="gross", allow_null=True, help_text="realized + unrealized (₹)")
    fees = MoneyField(source="charges", help_text="estimated charges of the executed orders (₹)")
    net_pnl = MoneyField(source="net", allow_null=True, help_text="gross − fees (₹)")


class StrategyPnlSerializer(PnlSerializer):
    strategy_id = serializers.UUIDField()
    strategy_name = serializers.CharField()


class BasketPnlSerializer(serializers.Serializer):
    basket_id = serializers.UUIDField()
    strategies = StrategyPnlSerializer(many=True)
    total = PnlSerializer()
