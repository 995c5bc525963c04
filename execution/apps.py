from django.apps import AppConfig


class ExecutionConfig(AppConfig):
    name = "execution"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from market.feed import register_after_cycle, register_quote_demand

        from .selectors import held_contracts
        from .tasks import check_stop_losses, sync_working_orders

        register_quote_demand(held_contracts)  # the feed prices every open position's contract;
        register_after_cycle(sync_working_orders, also_after_failed=True)  # run_feed syncs working orders every second
        register_after_cycle(check_stop_losses)  # and checks stop-losses on every fresh price
