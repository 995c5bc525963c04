from django.apps import AppConfig


class MarketConfig(AppConfig):
    """The bottom layer: calendar, instruments, quotes, the feed and the contract arithmetic.

    It imports none of the project's other apps; they plug in through its registries (`market.feed`:
    quote demand and after-cycle hooks; `market.instruments`: instrument sources)."""

    name = "market"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .instruments import load_paper_instruments, register_instrument_source

        register_instrument_source("paper", load_paper_instruments, "the paper broker's master from the data file")
