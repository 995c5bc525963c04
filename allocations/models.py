import uuid

from django.db import models
from django.db.models import Q


class Allocation(models.Model):
    class Type(models.TextChoices):
        LEG_LEVEL = "LEG_LEVEL"
        STRATEGY_LEVEL = "STRATEGY_LEVEL"

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE"
        PAUSED = "PAUSED"
        ARCHIVED = "ARCHIVED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    strategy = models.ForeignKey("strategies.Strategy", on_delete=models.CASCADE, related_name="allocations")
    broker_account = models.ForeignKey("brokers.BrokerAccount", on_delete=models.PROTECT, related_name="allocations")
    priority = models.PositiveSmallIntegerField(default=1)
    allocation_type = models.CharField(max_length=16, choices=Type.choices, default=Type.STRATEGY_LEVEL)
    strategy_lots_multiplier = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    risk_limits = models.JSONField(default=dict, blank=True)
    execution_config = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    last_used = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["strategy", "priority", "broker_account__client_id"]
        constraints = [
            models.UniqueConstraint(fields=["strategy", "broker_account"], name="uniq_allocation_strategy_account"),
            models.CheckConstraint(
                condition=Q(strategy_lots_multiplier__isnull=True) | Q(strategy_lots_multiplier__gt=0),
                name="allocation_multiplier_positive",
            ),
            models.CheckConstraint(
                condition=Q(allocation_type="LEG_LEVEL") | Q(strategy_lots_multiplier__isnull=False),
                name="allocation_strategy_level_has_multiplier",
            ),
        ]

    def __str__(self):
        return f"{self.strategy} → {self.broker_account.client_id}"


class LegOverride(models.Model):
    allocation = models.ForeignKey(Allocation, on_delete=models.CASCADE, related_name="leg_overrides")
    leg = models.ForeignKey("strategies.Leg", on_delete=models.CASCADE, related_name="overrides")
    lots = models.PositiveIntegerField()
    enabled = models.BooleanField(default=True)
    notes = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["allocation", "leg__leg_no"]
        constraints = [
            models.UniqueConstraint(fields=["allocation", "leg"], name="uniq_leg_override_allocation_leg"),
            models.CheckConstraint(condition=Q(lots__gte=1), name="leg_override_lots_at_least_1"),
        ]

    def __str__(self):
        return f"{self.allocation} leg {self.leg.leg_no}: {self.lots}"
