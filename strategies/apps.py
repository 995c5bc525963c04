from django.apps import AppConfig


class StrategiesConfig(AppConfig):
    name = "strategies"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from market.feed import register_quote_demand

        from .selectors import chains_to_quote

        register_quote_demand(chains_to_quote)  # the feed prices the chains active strategies can trade
