import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

PERFORMANCE_FIELDS = ["total_return", "sharpe_ratio", "max_drawdown", "win_rate", "monthly_return", "volatility"]


def empty_performance_metrics() -> dict:
    """Seed 001's performance_metrics before anything traded: every figure null (not computed), never 0."""
    return dict.fromkeys(PERFORMANCE_FIELDS)


class Basket(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "ACTIVE"
        PAUSED = "PAUSED"
        ARCHIVED = "ARCHIVED"

    class CreatedByType(models.TextChoices):
        USER = "USER"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="baskets")
    basket_name = models.CharField(max_length=120)
    description = models.TextField(blank=True, default="")
    initial_capital = models.DecimalField(max_digits=16, decimal_places=2)
    deployable_percentage = models.DecimalField(max_digits=5, decimal_places=2, default=100)
    current_capital = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    created_by_type = models.CharField(max_length=8, choices=CreatedByType.choices, default=CreatedByType.USER)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    version = models.PositiveIntegerField(default=1)
    performance_metrics = models.JSONField(
        default=empty_performance_metrics,
        blank=True,
        editable=False,
        help_text="Computed from the daily marks by the analytics app (nightly and by backfill_marks), never typed in",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(deployable_percentage__gte=0) & Q(deployable_percentage__lte=100),
                name="basket_deployable_percentage_0_100",
            ),
            models.CheckConstraint(condition=Q(initial_capital__gte=0), name="basket_initial_capital_not_negative"),
        ]

    def __str__(self):
        return self.basket_name

    @property
    def deployable_capital(self):
        capital = self.current_capital if self.current_capital is not None else self.initial_capital
        return capital * self.deployable_percentage / 100
