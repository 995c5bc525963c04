from decimal import Decimal

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from config.admin_guard import OwnerChangeGuardMixin

from .models import Basket


class BasketAdminForm(OwnerChangeGuardMixin, forms.ModelForm):
    class Meta:
        model = Basket
        fields = [
            "owner",
            "basket_name",
            "description",
            "initial_capital",
            "current_capital",
            "deployable_percentage",
            "status",
        ]

    def clean_initial_capital(self):
        capital = self.cleaned_data["initial_capital"]
        if capital is not None and capital < 0:
            raise ValidationError("Initial capital cannot be negative.")
        return capital

    def clean_deployable_percentage(self):
        percentage = self.cleaned_data["deployable_percentage"]
        if percentage is not None and not Decimal(0) <= percentage <= Decimal(100):
            raise ValidationError("Deployable percentage must be between 0 and 100.")
        return percentage


@admin.register(Basket)
class BasketAdmin(admin.ModelAdmin):
    form = BasketAdminForm
    list_display = [
        "basket_name",
        "owner",
        "initial_capital",
        "current_capital",
        "deployable_percentage",
        "deployable_capital_display",
        "status",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["basket_name", "owner__username"]
    list_select_related = ["owner"]
    readonly_fields = ["deployable_capital_display", "created_by_type", "version", "created_at", "updated_at"]

    @admin.display(description="Deployable capital")
    def deployable_capital_display(self, obj):
        if obj.initial_capital is None:
            return "—"
        return obj.deployable_capital.quantize(Decimal("0.01"))
