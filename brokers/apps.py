from django.apps import AppConfig


class BrokersConfig(AppConfig):
    name = "brokers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # `load_instruments --broker zerodha|angelone [--file PATH]` maps each broker's dump onto the contracts.
        from market.instruments import register_instrument_source

        from .instruments import load_angelone_instruments, load_zerodha_instruments

        register_instrument_source("zerodha", load_zerodha_instruments, "Kite's instruments CSV")
        register_instrument_source("angelone", load_angelone_instruments, "Angel One's ScripMaster JSON")
