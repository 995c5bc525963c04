from django.http import JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.api.views import Logout

from .auth import ThrottledTokenObtainPairView, ThrottledTokenRefreshView


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Any /api/v1/ path no route matches (a malformed id in the path included) is a JSON 404 like a missing
    object, never Django's HTML page (nor its HTML CSRF refusal: this view changes nothing)."""
    return JsonResponse({"detail": "Not found."}, status=404)


urlpatterns = [
    path("auth/token/", ThrottledTokenObtainPairView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", ThrottledTokenRefreshView.as_view(), name="token-refresh"),
    path("auth/logout/", Logout.as_view(), name="logout"),
    path("", include("brokers.api.urls")),
    path("", include("baskets.api.urls")),
    path("", include("strategies.api.urls")),
    path("", include("allocations.api.urls")),
    path("", include("execution.api.urls")),
    path("", include("analytics.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    # Last: whatever no route above matched.
    re_path(r"", not_found),
]
