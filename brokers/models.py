import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from market.models import Instrument

from . import crypto


class Broker(models.TextChoices):
    PAPER = "PAPER", "Paper (simulated)"
    ZERODHA = "ZERODHA", "Zerodha (Kite Connect)"
    ANGELONE = "ANGELONE", "Angel One (SmartAPI)"


class BrokerAccount(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "ACTIVE"
        DISABLED = "DISABLED"
        ERROR = "ERROR"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="broker_accounts")
    broker = models.CharField(max_length=16, choices=Broker.choices, default=Broker.PAPER)
    client_id = models.CharField(max_length=32, help_text="The broker's client id, e.g. ZERODHA123")
    name = models.CharField(max_length=100, blank=True)
    credentials_encrypted = models.TextField(blank=True, default="", editable=False)
    session_token_encrypted = models.TextField(blank=True, default="", editable=False)
    session_expires_at = models.DateTimeField(null=True, blank=True)
    last_ok_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    entries_blocked = models.BooleanField(
        default=False, help_text="Kill switch: no new entries for this account until cleared."
    )
    entries_blocked_reason = models.CharField(max_length=200, blank=True, default="")
    max_daily_loss = models.DecimalField(
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Account-level: when today's P&L across strategies reaches -this, new entries are blocked.",
    )
    algo_id = models.CharField(
        max_length=32,
        blank=True,
        default="",
        help_text="SEBI algo id the exchange approved for this platform's orders; sent with every Zerodha order.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["client_id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "client_id"], name="uniq_broker_account_owner_client_id"),
            models.CheckConstraint(condition=~Q(client_id=""), name="broker_account_client_id_not_empty"),
        ]

    def __str__(self):
        return f"{self.client_id} ({self.get_broker_display()})"

    @property
    def credentials(self) -> dict:
        return crypto.decrypt_json(self.credentials_encrypted)

    @credentials.setter
    def credentials(self, value: dict | None):
        self.credentials_encrypted = crypto.encrypt_json(value) if value else ""

    @property
    def has_credentials(self) -> bool:
        return bool(self.credentials_encrypted)


class PaperOrder(models.Model):
    """An order as the paper broker holds it: its own book, keyed by the platform's tag like a real broker's."""

    class Status(models.TextChoices):
        OPEN = "OPEN"
        FILLED = "FILLED"
        PARTIAL = "PARTIAL"
        REJECTED = "REJECTED"
        CANCELLED = "CANCELLED"

    # account leads uniq_paper_order_account_tag; broker_order_id is unique by a constraint (no LIKE index)
    account = models.ForeignKey(BrokerAccount, on_delete=models.CASCADE, related_name="paper_orders", db_index=False)
    broker_order_id = models.CharField(max_length=32)
    tag = models.CharField(max_length=20)
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="paper_orders")
    side = models.CharField(max_length=4)
    quantity = models.PositiveIntegerField()
    order_type = models.CharField(max_length=8)
    limit_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    filled_quantity = models.PositiveIntegerField(default=0)
    average_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    message = models.CharField(max_length=200, blank=True, default="")
    fills = models.JSONField(default=list, blank=True)
    illiquid = models.BooleanField(default=False, help_text="An ILLIQUID fault: it rests and never fills")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            # A real broker would accept a second order with the same tag; the paper broker refuses it so that
            # a test can prove the engine never sends one.
            models.UniqueConstraint(fields=["account", "tag"], name="uniq_paper_order_account_tag"),
            models.UniqueConstraint(fields=["broker_order_id"], name="uniq_paper_broker_order_id"),
        ]

    def __str__(self):
        return f"{self.broker_order_id} {self.tag} {self.side} {self.quantity} {self.status}"


class PaperFault(models.Model):
    """A fault the paper broker injects into the next orders of an account (for tests and drills)."""

    class Kind(models.TextChoices):
        REJECT = "REJECT", "Reject the order"
        TIMEOUT = "TIMEOUT", "Time out before the order reaches the book"
        TIMEOUT_AFTER_PLACE = "TIMEOUT_AFTER_PLACE", "Place the order, then time out the reply"
        PARTIAL = "PARTIAL", "Fill only part of the order"
        ILLIQUID = "ILLIQUID", "Accept the order but never fill it (no liquidity at any price)"

    account = models.ForeignKey(BrokerAccount, on_delete=models.CASCADE, related_name="paper_faults")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    side = models.CharField(max_length=4, blank=True, default="", help_text="BUY or SELL; blank for any")
    remaining = models.PositiveIntegerField(default=1)
    fill_ratio = models.DecimalField(max_digits=4, decimal_places=2, default="0.5")
    message = models.CharField(max_length=200, blank=True, default="")

    def __str__(self):
        return f"{self.account.client_id} {self.kind} ×{self.remaining}"
