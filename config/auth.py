"""Token endpoints: simplejwt with a per-IP throttle; django-axes locks out repeated failed logins."""

from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView


class ThrottledTokenObtainPairView(TokenObtainPairView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"


class ThrottledTokenRefreshView(TokenRefreshView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"


def client_ip(request) -> str | None:
    """The client's address as DRF's throttles see it (NUM_PROXIES trusted proxies; 0 = the peer address).
    django-axes uses it too (AXES_CLIENT_IP_CALLABLE), so both count the same client the same way."""
    remote_addr = request.META.get("REMOTE_ADDR")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    num_proxies = api_settings.NUM_PROXIES or 0
    if num_proxies == 0 or not forwarded:
        return remote_addr
    addresses = [part.strip() for part in forwarded.split(",")]
    return addresses[-min(num_proxies, len(addresses))]
