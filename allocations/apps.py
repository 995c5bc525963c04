from django.apps import AppConfig


class AllocationsConfig(AppConfig):
    name = "allocations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from strategies.signals import legs_changed

        from .services import allocations_check_after_leg_change

        def refuse_breaking_leg_change(sender, *, strategy, **kwargs):
            allocations_check_after_leg_change(strategy=strategy)

        # Kept by the signal (weak=False): a leg change that breaks an allocation is refused.
        legs_changed.connect(refuse_breaking_leg_change, weak=False, dispatch_uid="allocations.leg_change_check")
