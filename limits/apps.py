from django.apps import AppConfig


class LimitsConfig(AppConfig):
    """Size limits on what the platform may send for an account: per leg, per execution, against funds."""

    name = "limits"
    default_auto_field = "django.db.models.BigAutoField"
