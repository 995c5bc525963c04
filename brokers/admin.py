import json

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from config import jsontext
from config.admin_guard import OwnerChangeGuardMixin

from .adapters.base import credentials_errors
from .models import BrokerAccount, PaperFault, PaperOrder


class WriteOnlyTextarea(forms.Textarea):
    """Never renders a value, not even the one just posted when the form comes back with an error."""

    def format_value(self, value):
        return None


class BrokerAccountAdminForm(OwnerChangeGuardMixin, forms.ModelForm):
    credentials_json = forms.CharField(
        label="Credentials (JSON)",
        required=False,
        strip=True,
        widget=WriteOnlyTextarea(attrs={"rows": 4, "cols": 60, "autocomplete": "off", "spellcheck": "false"}),
        help_text=(
            'Write-only: stored credentials are never shown. Paste a JSON object such as {"api_key": "…", '
            '"api_secret": "…"} to replace them; leave blank to keep them; {} removes them.'
        ),
    )

    class Meta:
        model = BrokerAccount
        fields = ["owner", "broker", "client_id", "name", "algo_id", "status", "entries_blocked"]

    def clean_algo_id(self):
        algo_id = (self.cleaned_data.get("algo_id") or "").strip()
        RegexValidator(r"^[A-Za-z0-9_-]*$", "Use letters, digits, '-' or '_' only.")(algo_id)
        return algo_id

    def clean_client_id(self):
        client_id = self.cleaned_data["client_id"].strip()
        RegexValidator(r"^[A-Za-z0-9_-]+$", "Use letters, digits, '-' or '_' only.")(client_id)
        return client_id

    def clean_credentials_json(self) -> dict | None:
        raw = self.cleaned_data["credentials_json"]
        if not raw:
            return None  # keep what is stored
        try:
            value = jsontext.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"Credentials are not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}). "
                "Nothing was changed; paste them again."
            ) from None
        if not isinstance(value, dict):
            raise ValidationError('Credentials must be a JSON object, e.g. {"api_key": "…", "api_secret": "…"}.')
        not_strings = sorted(key for key, item in value.items() if not isinstance(item, str))
        if not_strings:
            raise ValidationError(f"Every credential value must be a string; not: {', '.join(not_strings)}.")
        return value

    def clean(self):
        cleaned = super().clean()
        credentials = cleaned.get("credentials_json")
        if credentials:
            for key, messages in credentials_errors(cleaned.get("broker") or self.instance.broker, credentials).items():
                self.add_error("credentials_json", f"{key}: {messages[0]}" if key != "credentials" else messages[0])
        return cleaned

    def save(self, commit=True):
        credentials = self.cleaned_data.get("credentials_json")
        if credentials is not None:
            self.instance.credentials = credentials  # encrypts; {} clears
        return super().save(commit=commit)


@admin.register(BrokerAccount)
class BrokerAccountAdmin(admin.ModelAdmin):
    form = BrokerAccountAdminForm
    list_display = ["client_id", "name", "owner", "broker", "status", "entries_blocked", "last_ok_at"]
    list_filter = ["broker", "status", "entries_blocked"]
    search_fields = ["client_id", "name", "owner__username"]
    list_select_related = ["owner"]
    readonly_fields = [
        "has_credentials_display",
        "has_session_display",
        "session_expires_at",
        "last_ok_at",
        "last_error",
        "created_at",
        "updated_at",
    ]
    # The encrypted columns are deliberately absent from every fieldset.
    fieldsets = [
        (None, {"fields": ["owner", "broker", "client_id", "name", "algo_id"]}),
        ("Credentials", {"fields": ["has_credentials_display", "credentials_json"]}),
        (
            "Health",
            {
                "fields": [
                    "status",
                    "entries_blocked",
                    "entries_blocked_reason",
                    "max_daily_loss",
                    "last_ok_at",
                    "last_error",
                    "has_session_display",
                    "session_expires_at",
                ]
            },
        ),
        ("Timestamps", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]
    # The kill-switch and reconciliation actions are the engine's: execution/admin.py adds them (brokers must not
    # import execution).
    actions = []

    @admin.display(description="Has credentials", boolean=True)
    def has_credentials_display(self, obj):
        return obj.has_credentials

    @admin.display(description="Has a session token", boolean=True)
    def has_session_display(self, obj):
        return bool(obj.session_token_encrypted)


@admin.register(PaperOrder)
class PaperOrderAdmin(admin.ModelAdmin):
    """The paper broker's own order book (what a real broker would show), read-only."""

    list_display = ["broker_order_id", "tag", "account", "instrument", "side", "quantity", "status", "average_price"]
    list_filter = ["status", "side"]
    search_fields = ["tag", "broker_order_id", "account__client_id"]
    list_select_related = ["account", "instrument"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PaperFault)
class PaperFaultAdmin(admin.ModelAdmin):
    """Faults the paper broker injects into an account's next orders: for drills and tests."""

    list_display = ["account", "kind", "side", "remaining", "fill_ratio", "message"]
    list_filter = ["kind"]
    search_fields = ["account__client_id"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]
