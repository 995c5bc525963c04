from django.contrib import admin

from .models import AccountLimits, UserLimits


@admin.register(AccountLimits)
class AccountLimitsAdmin(admin.ModelAdmin):
    list_display = [
        "broker_account",
        "max_lots_per_leg",
        "max_lots_per_execution",
        "max_orders_per_execution",
        "max_margin_percent",
        "updated_at",
    ]
    search_fields = ["broker_account__client_id", "broker_account__owner__username"]
    list_select_related = ["broker_account"]
    autocomplete_fields = ["broker_account"]


@admin.register(UserLimits)
class UserLimitsAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "max_lots_per_leg",
        "max_lots_per_execution",
        "max_orders_per_execution",
        "max_margin_percent",
        "updated_at",
    ]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
