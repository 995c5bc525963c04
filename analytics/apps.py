from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """The top layer: daily marks, performance metrics, attribution and their charts. It may import
    every other app; nothing imports it (config's urls and settings name it)."""

    name = "analytics"
    default_auto_field = "django.db.models.BigAutoField"
