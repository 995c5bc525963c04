from django.apps import AppConfig


class MarketConfig(AppConfig):
    """The bottom layer: calendar and market reference data; imports none of the project's other apps."""

    name = "market"
    default_auto_field = "django.db.models.BigAutoField"
