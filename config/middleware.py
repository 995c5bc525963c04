import zoneinfo

from django.conf import settings
from django.utils import timezone


class ExchangeTimeZoneMiddleware:
    """Every page renders times in the exchange's time zone (IST): stored UTC, shown Asia/Kolkata."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.zone = zoneinfo.ZoneInfo(settings.EXCHANGE_TIME_ZONE)

    def __call__(self, request):
        timezone.activate(self.zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
