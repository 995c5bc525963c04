from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.api.views import Logout

from .auth import ThrottledTokenObtainPairView, ThrottledTokenRefreshView

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
]
