from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.forms.models import BaseInlineFormSet
from django.utils.html import format_html, format_html_join

from strategies.admin import StrategyAdmin
from strategies.models import Leg

from .lots import STRATEGY_LEVEL, AccountLots, LotsError, OverrideSpec, allocate
from .models import Allocation, LegOverride
from .selectors import allocation_lots, leg_spec


def _lots(allocation: Allocation) -> AccountLots | LotsError:
    """The allocation's final lots, or the refusal; cached on the instance so one page computes it once.

    Expects the strategy's legs and the overrides to be prefetched (see the admins' get_queryset) so that a
    changelist computes every row without a query per row.
    """
    cached = getattr(allocation, "_admin_lots", None)
    if cached is None:
        try:
            cached = allocation_lots(allocation, legs=list(allocation.strategy.legs.all()))
        except LotsError as exc:
            cached = exc
        allocation._admin_lots = cached
    return cached


def _per_leg(lots: AccountLots) -> str:
    return ", ".join(f"L{leg.leg_no}: {leg.final_lots}" for leg in lots.legs) or "no enabled legs"


def _with_lots_prefetch(queryset):
    return queryset.select_related("strategy", "broker_account").prefetch_related(
        "strategy__legs", Prefetch("leg_overrides", queryset=LegOverride.objects.select_related("leg"))
    )


class AllocationAdminForm(forms.ModelForm):
    class Meta:
        model = Allocation
        fields = [
            "strategy",
            "broker_account",
            "priority",
            "allocation_type",
            "strategy_lots_multiplier",
            "risk_limits",
            "execution_config",
            "status",
        ]

    def clean(self):
        cleaned = super().clean()
        if "strategy_lots_multiplier" not in self.errors:
            multiplier = cleaned.get("strategy_lots_multiplier")
            if multiplier is not None and multiplier <= 0:
                self.add_error(
                    "strategy_lots_multiplier", "The lots multiplier must be greater than 0 (e.g. 0.5, 1 or 1.5)."
                )
            elif multiplier is None and cleaned.get("allocation_type") == STRATEGY_LEVEL:
                self.add_error(
                    "strategy_lots_multiplier",
                    "A strategy-level allocation needs a lots multiplier: each leg trades floor(base lots × "
                    "multiplier). Enter one, or make the allocation leg-level.",
                )
        strategy, account = cleaned.get("strategy"), cleaned.get("broker_account")
        if strategy is not None and account is not None and account.owner_id != strategy.owner_id:
            self.add_error("broker_account", f"Broker account {account.client_id} belongs to another user.")
        return cleaned


class LegOverrideForm(forms.ModelForm):
    class Meta:
        model = LegOverride
        fields = ["leg", "lots", "enabled", "notes"]

    def clean_lots(self):
        lots = self.cleaned_data["lots"]
        if lots is not None and lots < 1:
            raise ValidationError("An override trades at least 1 lot; untick “enabled” to leave the leg out instead.")
        return lots


class LegOverrideFormSet(BaseInlineFormSet):
    """Refuses overrides on another strategy's legs, then runs the lot arithmetic on what would be saved."""

    def clean(self):
        super().clean()
        allocation = self.instance
        if not allocation.strategy_id:
            return  # the allocation form reports the missing strategy
        overrides = {}
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
                continue
            leg = form.cleaned_data.get("leg")
            if leg is None:
                continue
            if leg.strategy_id != allocation.strategy_id:
                form.add_error(
                    "leg",
                    f"Leg {leg.leg_no} belongs to strategy “{leg.strategy}”, not to this allocation's strategy. "
                    "Choose one of its own legs.",
                )
                continue
            if form.cleaned_data.get("lots") is not None:
                overrides[leg.leg_no] = OverrideSpec(
                    lots=form.cleaned_data["lots"], enabled=form.cleaned_data.get("enabled", True)
                )
        if any(form.errors for form in self.forms):
            return
        multiplier = allocation.strategy_lots_multiplier
        if allocation.allocation_type == STRATEGY_LEVEL and (multiplier is None or multiplier <= 0):
            return  # the allocation form reports the multiplier
        try:
            allocate(
                [leg_spec(leg) for leg in Leg.objects.filter(strategy_id=allocation.strategy_id)],
                client_id=allocation.broker_account.client_id if allocation.broker_account_id else "this account",
                allocation_type=allocation.allocation_type,
                multiplier=multiplier,
                overrides=overrides,
            )
        except LotsError as exc:
            raise ValidationError(f"These lots cannot be traded: {exc.message}.") from None


class LegOverrideInline(admin.TabularInline):
    model = LegOverride
    form = LegOverrideForm
    formset = LegOverrideFormSet
    extra = 0
    fields = ["leg", "base_lots", "lots", "enabled", "notes"]
    readonly_fields = ["base_lots"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("leg__strategy")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        leg_field = formset.form.base_fields["leg"]
        legs = Leg.objects.select_related("strategy").order_by("strategy__strategy_name", "leg_no")
        if obj is not None:
            legs = legs.filter(strategy_id=obj.strategy_id)
            leg_field.error_messages["invalid_choice"] = (
                "Choose one of this allocation's strategy's legs; that leg belongs to another strategy."
            )
            leg_field.label_from_instance = lambda leg: f"L{leg.leg_no} {leg.transaction_type} {leg.leg_type}"
        leg_field.queryset = legs
        return formset

    @admin.display(description="Base lots")
    def base_lots(self, obj):
        return obj.leg.lots if obj.leg_id else "—"


@admin.register(Allocation)
class AllocationAdmin(admin.ModelAdmin):
    form = AllocationAdminForm
    inlines = [LegOverrideInline]
    list_display = [
        "strategy",
        "broker_account__client_id",
        "allocation_type",
        "strategy_lots_multiplier",
        "priority",
        "status",
        "total_lots_column",
    ]
    list_filter = ["status", "allocation_type", "broker_account__broker", "strategy__underlying"]
    search_fields = ["strategy__strategy_name", "broker_account__client_id", "broker_account__name"]
    list_select_related = ["strategy", "broker_account"]
    autocomplete_fields = ["strategy", "broker_account"]
    readonly_fields = ["final_lots", "total_lots", "lot_warnings", "last_used", "created_at", "updated_at"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "strategy",
                    "broker_account",
                    "allocation_type",
                    "strategy_lots_multiplier",
                    "priority",
                    "status",
                ]
            },
        ),
        ("Final lots (as saved)", {"fields": ["final_lots", "total_lots", "lot_warnings"]}),
        ("Risk and execution", {"fields": ["risk_limits", "execution_config"]}),
        ("Timestamps", {"fields": ["last_used", "created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request):
        return _with_lots_prefetch(super().get_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        # The overrides point at this strategy's legs, and the pair is unique: re-pointing is a new allocation.
        return ["strategy", "broker_account", *self.readonly_fields]

    @admin.display(description="Total lots")
    def total_lots_column(self, obj):
        lots = _lots(obj)
        if isinstance(lots, LotsError):
            return format_html('<span title="{}">invalid</span>', lots.message)
        return lots.total_lots

    @admin.display(description="Final lots per leg")
    def final_lots(self, obj):
        if obj._state.adding:
            return "Shown once the allocation is saved."
        lots = _lots(obj)
        if isinstance(lots, LotsError):
            return f"Invalid: {lots.message}"
        return _per_leg(lots)

    @admin.display(description="Total lots")
    def total_lots(self, obj):
        if obj._state.adding:
            return "—"
        lots = _lots(obj)
        return "—" if isinstance(lots, LotsError) else lots.total_lots

    @admin.display(description="Warnings")
    def lot_warnings(self, obj):
        if obj._state.adding:
            return "—"
        lots = _lots(obj)
        if isinstance(lots, LotsError) or not lots.warnings:
            return "—"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((w,) for w in lots.warnings)))


class AllocationSummaryInline(admin.TabularInline):
    """Read-only list of a strategy's allocations with their final lots, on the strategy's page."""

    model = Allocation
    fields = ["broker_account", "allocation_type", "strategy_lots_multiplier", "priority", "status", "final_lots"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "allocations (read-only summary: open one to edit it)"

    def get_queryset(self, request):
        return _with_lots_prefetch(super().get_queryset(request))

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Final lots")
    def final_lots(self, obj):
        lots = _lots(obj)
        if isinstance(lots, LotsError):
            return f"Invalid: {lots.message}"
        return f"{_per_leg(lots)} (total {lots.total_lots})"


# The strategy's admin page lists its allocations; the inline is added from here (strategies must not import
# allocations).
StrategyAdmin.inlines = [*StrategyAdmin.inlines, AllocationSummaryInline]
