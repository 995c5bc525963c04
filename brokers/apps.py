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

        # run_feed takes Kite's live quotes (KiteTicker, ltp as the fallback) while a Zerodha account is connected.
        from market.feed import register_feed_source

        from .live_feed import live_feed_source

        register_feed_source(live_feed_source)
