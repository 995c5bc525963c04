from django.contrib.auth import get_user_model
from rest_framework import serializers
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken

from config.api import StrictCharField

from ..authentication import VERSION_CLAIM, check_token_version
from ..selectors import token_version_of


class VersionedTokenObtainPairSerializer(TokenObtainPairSerializer):
    @classmethod
    def get_token(cls, user):
        token = super().get_token(user)
        token[VERSION_CLAIM] = token_version_of(user)
        return token


def _user_of(token):
    users = get_user_model().objects.select_related("token_version")
    return users.filter(**{api_settings.USER_ID_FIELD: token.get(api_settings.USER_ID_CLAIM)}).first()


class VersionedTokenRefreshSerializer(TokenRefreshSerializer):
    """A refresh token issued before the user's current token version is refused (401), like a blacklisted one."""

    def validate(self, attrs):
        try:
            token = RefreshToken(attrs["refresh"])
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        user = _user_of(token)
        if user is None:
            raise AuthenticationFailed("User not found", code="user_not_found")
        check_token_version(token, user)
        return super().validate(attrs)


class LogoutSerializer(serializers.Serializer):
    refresh = StrictCharField(help_text="The refresh token to end; it is blacklisted and cannot be used again.")

    def validate_refresh(self, value):
        try:
            token = RefreshToken(value)
        except TokenError:
            raise serializers.ValidationError("Not a valid refresh token (expired, revoked or malformed).") from None
        if str(token.get(api_settings.USER_ID_CLAIM)) != str(self.context["request"].user.pk):
            raise serializers.ValidationError("This refresh token belongs to another user.")
        self.token = token
        return value
