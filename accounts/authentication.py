"""JWT authentication that also refuses tokens issued before the user's current token version."""

from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings

from .selectors import token_version_of

VERSION_CLAIM = "ver"


def check_token_version(token, user) -> None:
    if token.get(VERSION_CLAIM, 0) != token_version_of(user):
        raise AuthenticationFailed(_("Token has been revoked"), code="token_revoked")


class VersionedJWTAuthentication(JWTAuthentication):
    def get_user(self, validated_token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc
        users = self.user_model.objects.select_related("token_version")
        try:
            user = users.get(**{api_settings.USER_ID_FIELD: user_id})
        except self.user_model.DoesNotExist as exc:
            raise AuthenticationFailed(_("User not found"), code="user_not_found") from exc
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        check_token_version(validated_token, user)
        return user
