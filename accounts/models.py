from django.conf import settings
from django.db import models


class TokenVersion(models.Model):
    """Every JWT carries the user's version when issued (claim `ver`); raising the version invalidates every
    access and refresh token issued before. A user without a row is at version 0."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="token_version"
    )
    version = models.PositiveIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)

    def __str__(self):
        return f"{self.user} v{self.version}"
