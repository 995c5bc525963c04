"""Ops-set size limits. Each limit is taken from the account's row, else the owner's row, else the default in
settings (TRADING_LIMITS); a blank value means "not set here"."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class LimitFields(models.Model):
    max_lots_per_leg = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text="Lots of one leg in one execution."
    )
    max_lots_per_execution = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text="Lots over all legs in one execution."
    )
    max_orders_per_execution = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Orders (after freeze slicing) in one execution.",
    )
    max_margin_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Estimated margin of one entry as a % of the account's available funds.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class UserLimits(LimitFields):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="trading_limits"
    )

    class Meta:
        verbose_name = "user trading limits"
        verbose_name_plural = "user trading limits"

    def __str__(self):
        return f"limits of {self.user}"


class AccountLimits(LimitFields):
    broker_account = models.OneToOneField(
        "brokers.BrokerAccount", primary_key=True, on_delete=models.CASCADE, related_name="trading_limits"
    )

    class Meta:
        verbose_name = "account trading limits"
        verbose_name_plural = "account trading limits"

    def __str__(self):
        return f"limits of {self.broker_account}"
