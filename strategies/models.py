import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from baskets.models import empty_performance_metrics

WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]


class Underlying(models.TextChoices):
    NIFTY = "NIFTY"
    BANKNIFTY = "BANKNIFTY"
    FINNIFTY = "FINNIFTY"
    MIDCPNIFTY = "MIDCPNIFTY"
    SENSEX = "SENSEX"


class Strategy(models.Model):
    class Product(models.TextChoices):
        NRML = "NRML", "NRML (positional)"
        MIS = "MIS", "MIS (intraday)"

    class Category(models.TextChoices):
        CONSERVATIVE = "CONSERVATIVE"
        AGGRESSIVE = "AGGRESSIVE"
        HEDGED = "HEDGED"
        INCOME = "INCOME"
        MOMENTUM = "MOMENTUM"

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE"
        PAUSED = "PAUSED"
        ARCHIVED = "ARCHIVED"

    class OnFailedEntry(models.TextChoices):
        UNWIND = "UNWIND", "Unwind: cancel working orders, close what filled at market"
        KEEP = "KEEP", "Keep what filled, with a critical alert"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="strategies")
    basket = models.ForeignKey(
        "baskets.Basket", on_delete=models.PROTECT, null=True, blank=True, related_name="strategies"
    )
    strategy_name = models.CharField(max_length=120)
    description = models.TextField(blank=True, default="")
    entry_time = models.TimeField(help_text="Exchange local time (Asia/Kolkata)")
    exit_time = models.TimeField(help_text="Exchange local time (Asia/Kolkata)")
    entry_days = models.JSONField(default=list)
    exit_days = models.JSONField(default=list)
    product = models.CharField(max_length=4, choices=Product.choices, default=Product.NRML)
    underlying = models.CharField(max_length=24, choices=Underlying.choices)
    is_intra_day = models.BooleanField(default=False, editable=False)
    created_by_type = models.CharField(max_length=8, default="USER")
    category = models.CharField(max_length=16, choices=Category.choices, default=Category.INCOME)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    on_failed_entry = models.CharField(
        max_length=6,
        choices=OnFailedEntry.choices,
        default=OnFailedEntry.UNWIND,
        help_text="When a leg of an entry cannot be filled within its chase policy",
    )
    version = models.PositiveIntegerField(default=1)
    archived_at = models.DateTimeField(null=True, blank=True)
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
        verbose_name_plural = "strategies"
        constraints = [
            models.CheckConstraint(
                condition=Q(product="MIS", is_intra_day=True) | Q(product="NRML", is_intra_day=False),
                name="strategy_intraday_matches_product",
            ),
        ]
        indexes = [models.Index(fields=["status", "entry_time"]), models.Index(fields=["status", "exit_time"])]

    def __str__(self):
        return self.strategy_name

    def save(self, *args, **kwargs):
        self.is_intra_day = self.product == self.Product.MIS
        super().save(*args, **kwargs)


# A leg's settings (what the admin, the API and the pages edit besides leg_no and lots).
LEG_SETTINGS = [
    "transaction_type",
    "leg_type",
    "entry_by",
    "strike_selection_config",
    "stop_loss",
    "expiry_type",
    "expiry_offset",
    "category",
    "order_type",
    "entry_slippage",
    "exit_slippage",
    "entry_max_slippage",
    "exit_max_slippage",
    "chase_after_seconds",
    "chase_max_modifies",
    "market_protection_pct",
    "position_sizing",
    "enabled",
]


class Leg(models.Model):
    class TransactionType(models.TextChoices):
        BUY = "BUY"
        SELL = "SELL"

    class LegType(models.TextChoices):
        CALL = "CALL"
        PUT = "PUT"

    class EntryBy(models.TextChoices):
        DELTA = "DELTA"
        STRIKE_DISTANCE = "STRIKE_DISTANCE"
        ATM_OFFSET = "ATM_OFFSET"

    class ExpiryType(models.TextChoices):
        WEEKLY = "WEEKLY"
        MONTHLY = "MONTHLY"

    class Category(models.TextChoices):
        LONG = "LONG"
        SHORT = "SHORT"
        SPREAD = "SPREAD"
        HEDGE = "HEDGE"

    class OrderType(models.TextChoices):
        MARKET = "MARKET"
        LIMIT = "LIMIT"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    strategy = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="legs")
    leg_no = models.PositiveSmallIntegerField()
    lots = models.PositiveIntegerField(help_text="Base lots; allocations may override per account")
    transaction_type = models.CharField(max_length=4, choices=TransactionType.choices)
    leg_type = models.CharField(max_length=4, choices=LegType.choices)
    entry_by = models.CharField(max_length=16, choices=EntryBy.choices, default=EntryBy.ATM_OFFSET)
    strike_selection_config = models.JSONField(default=dict, blank=True)
    stop_loss = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    expiry_type = models.CharField(max_length=8, choices=ExpiryType.choices, default=ExpiryType.WEEKLY)
    expiry_offset = models.PositiveSmallIntegerField(default=0)
    category = models.CharField(max_length=8, choices=Category.choices, blank=True, default="")
    order_type = models.CharField(max_length=8, choices=OrderType.choices, default=OrderType.MARKET)
    entry_slippage = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    exit_slippage = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    entry_max_slippage = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    exit_max_slippage = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    # The chase policy of a LIMIT leg (entry and exit): unfilled after chase_after_seconds, it is modified to the
    # touch, up to chase_max_modifies times, then sent at MARKET with market protection (never beyond the touch
    # by more than market_protection_pct). A MARKET order still unfilled chase_after_seconds later has failed.
    chase_after_seconds = models.PositiveSmallIntegerField(
        default=5, help_text="Seconds a LIMIT order may rest unfilled before it is chased"
    )
    chase_max_modifies = models.PositiveSmallIntegerField(
        default=2, help_text="Times the limit is moved to the touch before the order goes at market"
    )
    market_protection_pct = models.DecimalField(
        max_digits=5, decimal_places=2, default=2, help_text="At market, the worst price accepted: the touch ± this %"
    )
    position_sizing = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["strategy", "leg_no"]
        constraints = [
            models.UniqueConstraint(fields=["strategy", "leg_no"], name="uniq_leg_strategy_leg_no"),
            models.CheckConstraint(condition=Q(lots__gte=1), name="leg_lots_at_least_1"),
            models.CheckConstraint(condition=Q(leg_no__gte=1), name="leg_no_at_least_1"),
            models.CheckConstraint(
                condition=Q(chase_after_seconds__gte=1, chase_after_seconds__lte=600), name="leg_chase_after_1_600"
            ),
            models.CheckConstraint(condition=Q(chase_max_modifies__lte=20), name="leg_chase_max_modifies_le_20"),
            models.CheckConstraint(
                condition=Q(market_protection_pct__gt=0, market_protection_pct__lte=20),
                name="leg_market_protection_0_20",
            ),
        ]

    def __str__(self):
        return f"{self.strategy} leg {self.leg_no}: {self.transaction_type} {self.lots} {self.leg_type}"

    @property
    def underlying(self):
        return self.strategy.underlying
