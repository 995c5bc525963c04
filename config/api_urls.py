from django.http import JsonResponse
from django.urls import Resolver404, include, path, re_path, resolve
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.api.views import Logout

from .auth import ThrottledTokenObtainPairView, ThrottledTokenRefreshView


@csrf_exempt
def api_not_found(request, rest=""):
    """Any /api/v1/ path no route takes (a malformed id included): a JSON 404, as every API error is, never
    Django's HTML page (nor its HTML CSRF refusal: this view changes nothing). A path that exists with a
    trailing slash says so."""
    detail = "Not found."
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            detail = f"Not found. The address ends with a slash: {request.path}/"
    return JsonResponse({"detail": detail}, status=404)


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
    re_path(r"^(?P<rest>.*)$", api_not_found),  # last: what no route above takes
]
