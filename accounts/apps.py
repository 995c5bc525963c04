from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Sign-in state of the platform's users: token versions (revocation), logout, the ops "revoke sessions"."""

    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import schema, signals  # noqa: F401
