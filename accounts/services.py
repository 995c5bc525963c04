"""Revoking a user's sign-ins: every JWT (access and refresh) and every browser session."""

import logging

from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from .models import TokenVersion

log = logging.getLogger(__name__)


@transaction.atomic
def user_tokens_revoke(*, user, reason: str, keep_session_key: str | None = None) -> int:
    """Raise the user's token version (every token issued before stops working at once, access tokens
    included), blacklist the refresh tokens on record, and end the user's browser sessions except
    `keep_session_key` (the session that changed its own password stays signed in). Returns the new version."""
    now = timezone.now()
    TokenVersion.objects.get_or_create(user=user)
    TokenVersion.objects.filter(user=user).update(version=F("version") + 1, revoked_at=now, reason=reason[:200])
    outstanding = OutstandingToken.objects.filter(user=user, expires_at__gt=now).exclude(blacklistedtoken__isnull=False)
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
    ended = 0
    for session in Session.objects.filter(expire_date__gt=now).exclude(session_key=keep_session_key or ""):
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()
            ended += 1
    version = TokenVersion.objects.get(user=user).version
    log.warning(
        "sign-ins of user %s revoked (%s): token version %s, %s session(s) ended", user.pk, reason, version, ended
    )
    return version
