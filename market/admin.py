from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from .calendar import EXCHANGE_TZ
from .horizon import HolidayFileError, horizon_status
from .models import CalendarHorizon, Holiday, Instrument, Quote, TradingSession
from .selectors import readiness_message
from .services import holidays_import

MAX_HOLIDAY_FILE_BYTES = 256 * 1024


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


class HolidayFileForm(forms.Form):
    file = forms.FileField(
        help_text="The exchange's published holiday list as CSV: date, exchange, description "
        "(e.g. 2027-01-26,NSE,Republic Day). Rows already recorded are kept as they are."
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_HOLIDAY_FILE_BYTES:
            raise forms.ValidationError(f"The file is {upload.size} bytes; at most {MAX_HOLIDAY_FILE_BYTES}.")
        try:
            return upload.name, upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text (save the list as CSV).") from None


@admin.register(CalendarHorizon)
class CalendarHorizonAdmin(admin.ModelAdmin):
    """Each exchange's "confirmed until" date, the readiness state and the holiday-list import."""

    list_display = ["exchange", "confirmed_until", "days_left", "state", "source", "updated_at"]
    readonly_fields = ["updated_at"]
    change_list_template = "admin/market/calendarhorizon/change_list.html"

    def _status(self, obj):
        return horizon_status(obj.exchange, obj.confirmed_until, timezone.now().astimezone(EXCHANGE_TZ).date())

    @admin.display(description="days left")
    def days_left(self, obj):
        return self._status(obj).days_left

    @admin.display(description="readiness")
    def state(self, obj):
        return {"OK": "confirmed", "DUE": "load next list", "PASSED": "past horizon", "UNKNOWN": "unknown"}[
            self._status(obj).state
        ]

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="market_calendarhorizon_import",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        today = timezone.now().astimezone(EXCHANGE_TZ).date()
        extra_context = {**(extra_context or {}), "readiness": readiness_message(today)}
        return super().changelist_view(request, extra_context)

    def import_view(self, request):
        # Loading a list adds holidays and moves horizons: it needs both change permissions, not just view.
        if not (request.user.has_perm("market.add_holiday") and request.user.has_perm("market.change_calendarhorizon")):
            raise PermissionDenied
        form = HolidayFileForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            name, text = form.cleaned_data["file"]
            try:
                report = holidays_import(text=text, source=f"holiday list {name} (admin, {request.user})")
            except HolidayFileError as exc:
                form.add_error("file", f"{exc}; nothing was loaded.")
            else:
                horizons = ", ".join(
                    f"{exchange} until {until:%d %b %Y}" for exchange, until in report.horizons.items()
                )
                self.message_user(
                    request,
                    f"Added {len(report.added)} holidays, kept {report.kept} already recorded. Confirmed: {horizons}.",
                    messages.SUCCESS,
                )
                return redirect(reverse("admin:market_calendarhorizon_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import holiday list",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/market/calendarhorizon/import.html", context)
