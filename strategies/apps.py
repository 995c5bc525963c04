from django.apps import AppConfig


class StrategiesConfig(AppConfig):
    name = "strategies"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from baskets.signals import basket_deleting
        from market.feed import register_quote_demand

        from .selectors import chains_to_quote
        from .services import basket_strategies_release

        register_quote_demand(chains_to_quote)  # the feed prices the chains active strategies can trade

        def release_strategies(sender, *, basket, **kwargs):
            basket_strategies_release(basket=basket)

        # Kept by the signal (weak=False): a basket holding active strategies is not deleted; the others stay.
        basket_deleting.connect(release_strategies, weak=False, dispatch_uid="strategies.basket_delete_release")
