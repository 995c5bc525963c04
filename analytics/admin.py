from django.contrib import admin

from .models import DailyMark, IntradayMark


@admin.register(DailyMark)
class DailyMarkAdmin(admin.ModelAdmin):
    list_display = ["date", "strategy", "broker_account", "gross_pnl", "fees", "net_pnl", "capital_used", "priced"]
    list_filter = ["date", "priced", "broker_account__broker"]
    search_fields = ["strategy__strategy_name", "broker_account__client_id"]
    list_select_related = ["strategy", "broker_account"]
    date_hierarchy = "date"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(strategy__owner=request.user)

    def has_add_permission(self, request):
        return False  # marks are computed (nightly, backfill_marks), never typed in

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(IntradayMark)
class IntradayMarkAdmin(admin.ModelAdmin):
    list_display = ["at", "strategy", "mtm"]
    search_fields = ["strategy__strategy_name"]
    list_select_related = ["strategy"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(strategy__owner=request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
