from django.core.validators import RegexValidator
from rest_framework import serializers

from config.api import RejectUnknownFieldsMixin, StrictCharField

from ..models import Broker, BrokerAccount


class BrokerAccountSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    broker_account_id = serializers.UUIDField(source="id", read_only=True)
    client_id = StrictCharField(
        max_length=32,
        min_length=2,
        help_text="The broker's client id, e.g. ZERODHA123: letters, digits, '-' or '_'.",
        validators=[
            RegexValidator(r"^[A-Za-z0-9_-]+$", "Use letters, digits, '-' or '_' only."),
        ],
    )
    broker = serializers.ChoiceField(choices=Broker.choices, default=Broker.PAPER)
    name = StrictCharField(max_length=100, required=False, allow_blank=True)
    credentials = serializers.DictField(
        child=StrictCharField(max_length=500),
        write_only=True,
        required=False,
        help_text="Write-only. ZERODHA: api_key, api_secret. ANGELONE: api_key, client_code, pin, totp_secret. "
        "PAPER: none. Never returned.",
    )
    has_credentials = serializers.BooleanField(read_only=True)
    algo_id = StrictCharField(
        max_length=32,
        required=False,
        allow_blank=True,
        help_text="The SEBI algo id approved for this platform's orders; sent with every Zerodha order.",
        validators=[RegexValidator(r"^[A-Za-z0-9_-]+$", "Use letters, digits, '-' or '_' only.")],
    )

    class Meta:
        model = BrokerAccount
        fields = [
            "broker_account_id",
            "client_id",
            "broker",
            "name",
            "credentials",
            "has_credentials",
            "algo_id",
            "status",
            "entries_blocked",
            "session_expires_at",
            "last_ok_at",
            "last_error",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "status",
            "entries_blocked",
            "session_expires_at",
            "last_ok_at",
            "last_error",
            "created_at",
            "updated_at",
        ]


class SessionHealthSerializer(serializers.Serializer):
    client_id = serializers.CharField()
    ok = serializers.BooleanField()
    detail = serializers.CharField()
    last_ok_at = serializers.DateTimeField(allow_null=True)
