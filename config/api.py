"""Shared API pieces: strict JSON field types (no silent coercion) and owner scoping."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import parsers, serializers
from rest_framework.exceptions import ParseError

from .admin_fields import portable_max_digits
from .jsontext import TOO_DEEP


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with a body nested too deeply to parse answered 400 like any malformed JSON.
    Every request body of this API is a JSON object (bulk requests wrap their list: {"legs": [...]}), so an
    array, string, number or null body is a 400 too, not something a view half-reads."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - {TOO_DEEP}") from None
        if not isinstance(data, dict):
            raise ParseError("The request body must be a JSON object.")
        return data


class StrictIntegerField(serializers.IntegerField):
    """An integer must be a JSON integer: "2", 2.5 and true are refused, not coerced."""

    default_error_messages = {"invalid": "A whole number (JSON integer) is required."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            if isinstance(data, float) and data.is_integer():
                data = int(data)
            else:
                self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "Must be true or false (JSON boolean)."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class MoneyField(serializers.DecimalField):
    """Money and prices: a JSON number or a decimal string on input, a JSON number on output."""

    default_error_messages = {"invalid": "A number is required."}

    def __init__(self, **kwargs):
        # Bounded to what every backend stores exactly (SQLite: 15 significant digits), see config/admin_fields.py.
        kwargs["max_digits"] = portable_max_digits(kwargs.get("max_digits", 16))
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("coerce_to_string", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        # Decimal: a stored value merged into a partial update (PATCH) is valid input too.
        if isinstance(data, bool) or not isinstance(data, (int, float, str, Decimal)):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "09:30"})
class HHMMField(serializers.TimeField):
    """Exchange local time as "HH:MM" (Asia/Kolkata)."""

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", input_formats=["%H:%M"], **kwargs)

    def to_internal_value(self, value):
        if not isinstance(value, str):
            self.fail("invalid", format="HH:MM")
        return super().to_internal_value(value)


class OwnedQuerysetMixin:
    """Every queryset is the requesting user's: another user's object is a 404, exactly like a missing one."""

    owner_field = "owner"

    def scope(self, queryset):
        return queryset.filter(**{self.owner_field: self.request.user})


class RejectUnknownFieldsMixin:
    """A misspelt field is a 400 naming it, not silently ignored. Read-only fields may be echoed back."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


def validate_each(items, make_serializer):
    """Validate every item of a bulk request with its own serializer; errors come back keyed by the failing
    item's index ({"2": {"lots": [...]}}) and nothing is accepted unless every item is valid.
    Returns the validated data and the serializers (for anything else they collected, like warnings)."""
    validated, used, errors = [], [], {}
    for index, item in enumerate(items):
        serializer = make_serializer(item)
        used.append(serializer)
        if serializer.is_valid():
            validated.append(serializer.validated_data)
        else:
            errors[str(index)] = serializer.errors
    if errors:
        raise serializers.ValidationError(errors)
    return validated, used


class PerformanceMetricsSerializer(serializers.Serializer):
    """Seed 001's performance_metrics, computed from the daily marks (analytics), never typed in. Percentages
    (12.5 is 12.5 %) except the Sharpe ratio; null until there is enough history to define a figure."""

    total_return = serializers.FloatField(allow_null=True, help_text="% compounded on deployed capital")
    sharpe_ratio = serializers.FloatField(allow_null=True, help_text="252 trading days, risk-free rate a setting")
    max_drawdown = serializers.FloatField(allow_null=True, help_text="% fall from the running equity peak")
    win_rate = serializers.FloatField(allow_null=True, help_text="% of closed trades (an entry and its exit) won")
    monthly_return = serializers.FloatField(allow_null=True, help_text="% geometric mean per calendar month")
    volatility = serializers.FloatField(allow_null=True, help_text="% annualised standard deviation of daily returns")
