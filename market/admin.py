from django import forms
from django.contrib import admin

from .models import Holiday, Instrument, Quote, TradingSession


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "exchange", "description"]
    list_filter = ["exchange"]
    search_fields = ["description"]
    date_hierarchy = "date"


class TradingSessionAdminForm(forms.ModelForm):
    class Meta:
        model = TradingSession
        fields = ["exchange", "date", "open_time", "close_time", "note"]

    def clean(self):
        cleaned = super().clean()
        open_time, close_time = cleaned.get("open_time"), cleaned.get("close_time")
        if open_time and close_time and open_time >= close_time:
            self.add_error("close_time", "The session must close after it opens.")
        return cleaned


@admin.register(TradingSession)
class TradingSessionAdmin(admin.ModelAdmin):
    form = TradingSessionAdminForm
    list_display = ["date", "exchange", "open_time", "close_time", "note"]
    list_filter = ["exchange"]
    search_fields = ["note"]
    date_hierarchy = "date"


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = [
        "tradingsymbol",
        "exchange",
        "underlying",
        "expiry",
        "strike",
        "option_type",
        "lot_size",
        "freeze_quantity",
        "active",
    ]
    list_filter = ["kind", "exchange", "underlying", "option_type", "active", "expiry"]
    search_fields = ["tradingsymbol"]
    ordering = ["underlying", "expiry", "strike", "option_type"]


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    list_display = ["instrument", "ltp", "bid", "ask", "iv", "delta", "oi", "updated_at"]
    list_filter = ["instrument__underlying", "instrument__option_type"]
    search_fields = ["instrument__tradingsymbol"]
    list_select_related = ["instrument"]
    autocomplete_fields = ["instrument"]
    date_hierarchy = "updated_at"
