"""Broker pushes: Kite's postback, verified, feeds the order sync (the same entry point as polling)."""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from brokers.adapters.base import BrokerError
from brokers.postbacks import PostbackRefused, kite_postback_account

from .models import OrderEvent
from .services.sync import orders_sync


@csrf_exempt  # Kite cannot send our CSRF token; the checksum proves the sender instead
@require_POST
def kite_postback(request):
    try:
        account, _ = kite_postback_account(request.body)
    except PostbackRefused as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    try:
        report = orders_sync(account=account, source=OrderEvent.Source.PUSH)
    except BrokerError as exc:  # the broker's books are out of reach now: the next poll catches up
        return JsonResponse({"status": "accepted", "detail": exc.message}, status=202)
    return JsonResponse({"status": "ok", "changed": report.changed, "fills": report.fills})
