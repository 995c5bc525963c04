"""drf-spectacular extensions for our subclasses of simplejwt's classes (its own extensions match exact classes)."""

from drf_spectacular.contrib.rest_framework_simplejwt import (
    SimpleJWTScheme,
    TokenObtainPairSerializerExtension,
    TokenRefreshSerializerExtension,
)


class VersionedJWTScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.VersionedJWTAuthentication"
    name = "jwtAuth"


class VersionedTokenObtainPairSerializerExtension(TokenObtainPairSerializerExtension):
    target_class = "accounts.api.serializers.VersionedTokenObtainPairSerializer"


class VersionedTokenRefreshSerializerExtension(TokenRefreshSerializerExtension):
    target_class = "accounts.api.serializers.VersionedTokenRefreshSerializer"
