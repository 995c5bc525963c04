from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from config.admin_guard import OwnerChangeGuardMixin

from .models import LEG_SETTINGS, WEEKDAYS, Leg, Strategy
from .services import strategies_status_change

DAY_CHOICES = [(day, day.title()) for day in WEEKDAYS]


class LegAdminForm(forms.ModelForm):
    class Meta:
        model = Leg
        fields = ["strategy", "leg_no", "lots", *LEG_SETTINGS]

    def clean_leg_no(self):
        leg_no = self.cleaned_data["leg_no"]
        if leg_no is not None and leg_no < 1:
            raise ValidationError("Leg numbers start at 1.")
        return leg_no

    def clean_lots(self):
        lots = self.cleaned_data["lots"]
        if lots is not None and lots < 1:
            raise ValidationError("A leg trades at least 1 lot; disable the leg instead of setting 0.")
        return lots

    def clean(self):
        cleaned = super().clean()
        strategy = cleaned.get("strategy")
        strategy_id = strategy.pk if strategy is not None else self.instance.strategy_id
        leg_no = cleaned.get("leg_no")
        # The form skips the (strategy, leg_no) check when strategy is not an editable field; legs are also
        # saved one at a time, so a swap of numbers would hit the constraint half-way. Refuse both up front.
        if strategy_id and leg_no and {"leg_no", "strategy"} & set(self.changed_data):
            clash = Leg.objects.filter(strategy_id=strategy_id, leg_no=leg_no).exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error(
                    "leg_no",
                    f"This strategy already has a leg {leg_no}; to swap leg numbers, move one to a free number first.",
                )
        return cleaned


class LegInline(admin.TabularInline):
    model = Leg
    form = LegAdminForm
    extra = 0
    show_change_link = True  # the full leg (slippages, sizing) is edited on its own page
    fields = [
        "leg_no",
        "transaction_type",
        "leg_type",
        "lots",
        "entry_by",
        "strike_selection_config",
        "expiry_type",
        "expiry_offset",
        "order_type",
        "stop_loss",
        "enabled",
    ]
    formfield_overrides = {models.JSONField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 36})}}


class StrategyAdminForm(OwnerChangeGuardMixin, forms.ModelForm):
    entry_days = forms.MultipleChoiceField(choices=DAY_CHOICES, required=False, widget=forms.CheckboxSelectMultiple)
    exit_days = forms.MultipleChoiceField(choices=DAY_CHOICES, required=False, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = Strategy
        fields = [
            "owner",
            "basket",
            "strategy_name",
            "description",
            "underlying",
            "product",
            "category",
            "entry_time",
            "exit_time",
            "entry_days",
            "exit_days",
            "status",
            "on_failed_entry",
            "archived_at",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("entry_days", "exit_days"):
            days = self.initial.get(name)
            if isinstance(days, list):
                self.initial[name] = [str(day).upper() for day in days]

    def clean(self):
        cleaned = super().clean()
        owner, basket = cleaned.get("owner"), cleaned.get("basket")
        if owner is not None and basket is not None and basket.owner_id != owner.pk:
            self.add_error("basket", f"Basket “{basket}” belongs to another user, not to {owner}.")
        return cleaned


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
    form = StrategyAdminForm
    list_display = [
        "strategy_name",
        "owner",
        "basket",
        "underlying",
        "product",
        "entry_time",
        "exit_time",
        "status",
    ]
    list_filter = ["status", "underlying", "product", "category"]
    search_fields = ["strategy_name", "owner__username", "basket__basket_name"]
    list_select_related = ["owner", "basket"]
    readonly_fields = ["is_intra_day", "created_by_type", "version", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["owner", "basket", "strategy_name", "description", "underlying", "category", "status"]}),
        (
            "Schedule",
            {"fields": ["product", "is_intra_day", "entry_time", "exit_time", "entry_days", "exit_days"]},
        ),
        ("Order lifecycle", {"fields": ["on_failed_entry"]}),
        (
            "Record",
            {
                "fields": ["archived_at", "created_by_type", "version", "created_at", "updated_at"],
                "classes": ["collapse"],
            },
        ),
    ]
    inlines = [LegInline]  # allocations/admin.py adds its read-only summary (strategies must not import allocations)
    actions = ["pause_strategies", "activate_strategies"]

    def _set_status(self, request, queryset, *, from_status, to_status, verb):
        selected = queryset.count()
        changed = strategies_status_change(
            strategy_ids=queryset.values("pk"), from_status=from_status, to_status=to_status, now=timezone.now()
        )
        message = f"{verb} {changed} strateg{'y' if changed == 1 else 'ies'}."
        if selected - changed:
            message += f" {selected - changed} selected were not {from_status} and were left unchanged."
        self.message_user(request, message)

    @admin.action(description="Pause selected strategies", permissions=["change"])
    def pause_strategies(self, request, queryset):
        self._set_status(
            request, queryset, from_status=Strategy.Status.ACTIVE, to_status=Strategy.Status.PAUSED, verb="Paused"
        )

    @admin.action(description="Activate selected strategies", permissions=["change"])
    def activate_strategies(self, request, queryset):
        self._set_status(
            request, queryset, from_status=Strategy.Status.PAUSED, to_status=Strategy.Status.ACTIVE, verb="Activated"
        )


@admin.register(Leg)
class LegAdmin(admin.ModelAdmin):
    form = LegAdminForm
    list_display = ["strategy", "leg_no", "transaction_type", "leg_type", "lots", "entry_by", "expiry_type", "enabled"]
    list_filter = ["transaction_type", "leg_type", "entry_by", "expiry_type", "enabled", "strategy__underlying"]
    search_fields = ["strategy__strategy_name"]
    list_select_related = ["strategy"]
    autocomplete_fields = ["strategy"]
    readonly_fields = ["created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        # Moving a leg to another strategy would strand the allocations' overrides that point at it.
        return [*self.readonly_fields, "strategy"] if obj is not None else self.readonly_fields
