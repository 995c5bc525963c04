import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from config.money import DecimalJSONEncoder


class Execution(models.Model):
    class Type(models.TextChoices):
        ENTRY = "ENTRY"
        EXIT = "EXIT"

    class Trigger(models.TextChoices):
        SCHEDULED = "SCHEDULED"
        MANUAL = "MANUAL"
        MONITOR = "MONITOR"

    class Status(models.TextChoices):
        SCHEDULED = "SCHEDULED"
        IN_PROGRESS = "IN_PROGRESS"
        # Placement is done and orders still work at the broker: order sync and the chase finish it.
        WORKING = "WORKING"
        COMPLETED = "COMPLETED"
        PARTIAL = "PARTIAL"
        FAILED = "FAILED"
        CANCELLED = "CANCELLED"
        MISSED = "MISSED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # PROTECT: nothing traded may vanish; strategies with history are archived, not deleted.
    strategy = models.ForeignKey("strategies.Strategy", on_delete=models.PROTECT, related_name="executions")
    execution_type = models.CharField(max_length=5, choices=Type.choices)
    execution_date = models.DateField()
    execution_time = models.TimeField()
    due_at = models.DateTimeField(help_text="The due instant (UTC)")
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.SCHEDULED)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    scheduled_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    total_legs = models.PositiveIntegerField(default=0)
    total_lots = models.PositiveIntegerField(default=0)
    brokers_involved = models.JSONField(default=list, blank=True)
    execution_results = models.JSONField(default=dict, blank=True, encoder=DecimalJSONEncoder)  # money stays exact
    error = models.TextField(blank=True, default="")
    enqueued_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="A worker holds the execution until then; past it another may resume it."
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    claim_token = models.UUIDField(
        null=True, blank=True, editable=False, help_text="Stamped by the claim that holds it (the worker's own)"
    )
    batch = models.UUIDField(
        null=True, blank=True, editable=False, db_index=True, help_text="The dispatch message that runs it"
    )
    scope = models.JSONField(
        default=dict, blank=True, help_text="A monitor's exit closes only these positions: {'positions': [ids]}"
    )
    lifecycle = models.JSONField(
        default=dict,
        blank=True,
        help_text="The order lifecycle's notes: per account, a failed entry's action (UNWIND/KEEP) and phase; "
        "working orders an exit cancelled first",
    )
    # unique among the rows that have one (uniq_execution_dedupe_key): a scheduled execution has none and
    # touches no index for it, and no second LIKE index is kept
    dedupe_key = models.CharField(
        max_length=80, null=True, blank=True, help_text="One monitor-triggered execution per cause"
    )

    class Meta:
        ordering = ["-due_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["strategy", "execution_type", "execution_date"],
                condition=Q(trigger="SCHEDULED"),
                name="uniq_scheduled_execution_per_day",
            ),
            models.UniqueConstraint(
                fields=["dedupe_key"], condition=Q(dedupe_key__isnull=False), name="uniq_execution_dedupe_key"
            ),
        ]
        indexes = [models.Index(fields=["status", "due_at"]), models.Index(fields=["execution_date"])]

    def __str__(self):
        return f"{self.strategy} {self.execution_type} {self.execution_date} {self.status}"


class Side(models.TextChoices):
    BUY = "BUY"
    SELL = "SELL"


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING"
        SENT = "SENT"
        OPEN = "OPEN"
        FILLED = "FILLED"
        PARTIAL = "PARTIAL"
        REJECTED = "REJECTED"
        CANCELLED = "CANCELLED"
        UNKNOWN = "UNKNOWN"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    execution = models.ForeignKey(Execution, on_delete=models.PROTECT, related_name="orders")
    # Indexed by the (strategy, broker_account, created_at) index below, which also serves lookups by strategy.
    strategy = models.ForeignKey("strategies.Strategy", on_delete=models.PROTECT, related_name="orders", db_index=False)
    broker_account = models.ForeignKey("brokers.BrokerAccount", on_delete=models.PROTECT, related_name="orders")
    leg = models.ForeignKey("strategies.Leg", on_delete=models.SET_NULL, null=True, blank=True, related_name="orders")
    leg_no = models.PositiveSmallIntegerField()
    instrument = models.ForeignKey("market.Instrument", on_delete=models.PROTECT, related_name="orders")
    side = models.CharField(max_length=4, choices=Side.choices)
    lots = models.PositiveIntegerField()
    quantity = models.PositiveIntegerField()
    order_type = models.CharField(max_length=8, default="MARKET")
    limit_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    tag = models.CharField(max_length=20)  # unique: uniq_order_tag (a constraint: no second LIKE index to keep)
    broker_order_id = models.CharField(max_length=64, blank=True, default="")
    slice_no = models.PositiveSmallIntegerField(default=1)
    sequence = models.PositiveSmallIntegerField(default=0, help_text="Placement order within the account")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    filled_quantity = models.PositiveIntegerField(default=0)
    average_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    send_token = models.UUIDField(null=True, blank=True, editable=False, help_text="Stamped by the placer that sent it")
    chase_count = models.PositiveSmallIntegerField(default=0, help_text="How many times the chase modified it")
    chased_at = models.DateTimeField(null=True, blank=True, help_text="When the chase last modified it")
    unwind = models.BooleanField(default=False, help_text="Closes what a failed entry filled (on_failed_entry UNWIND)")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "tag"]
        indexes = [models.Index(fields=["strategy", "broker_account", "created_at"], name="order_strategy_account_day")]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_quantity_positive"),
            models.CheckConstraint(condition=Q(filled_quantity__lte=models.F("quantity")), name="order_fill_le_qty"),
            models.UniqueConstraint(fields=["tag"], name="uniq_order_tag"),
        ]

    def __str__(self):
        return f"{self.tag} {self.side} {self.quantity} {self.instrument}"


class OrderEvent(models.Model):
    """One transition of an order's state (or of its fill, price or quantity), with its time and source: the
    order's timeline. Written only by execution.services.orders."""

    class Source(models.TextChoices):
        PLACEMENT = "placement"
        POLL = "poll"
        PUSH = "push"
        RECONCILE = "reconcile"
        USER = "user"
        CHASE = "chase"

    # orderevent_order_at (order, at) serves the lookups by order
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events", db_index=False)
    at = models.DateTimeField()
    from_status = models.CharField(max_length=10, choices=Order.Status.choices)
    to_status = models.CharField(max_length=10, choices=Order.Status.choices)
    source = models.CharField(max_length=10, choices=Source.choices)
    detail = models.CharField(max_length=300, blank=True, default="")
    quantity = models.PositiveIntegerField(help_text="The order's quantity after the event")
    filled_quantity = models.PositiveIntegerField(default=0, help_text="Cumulative filled quantity after the event")
    price = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, help_text="Working limit price after the event"
    )

    class Meta:
        ordering = ["order", "at", "id"]
        indexes = [models.Index(fields=["order", "at"], name="orderevent_order_at")]

    def __str__(self):
        return f"{self.order_id} {self.from_status}->{self.to_status} ({self.source})"


class Fill(models.Model):
    # order and broker_account lead the two unique constraints, whose indexes serve their lookups
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="fills", db_index=False)
    strategy = models.ForeignKey("strategies.Strategy", on_delete=models.PROTECT, related_name="fills")
    broker_account = models.ForeignKey(
        "brokers.BrokerAccount", on_delete=models.PROTECT, related_name="fills", db_index=False
    )
    instrument = models.ForeignKey("market.Instrument", on_delete=models.PROTECT, related_name="fills")
    side = models.CharField(max_length=4, choices=Side.choices)
    quantity = models.PositiveIntegerField()
    price = models.DecimalField(max_digits=12, decimal_places=2)
    broker_fill_id = models.CharField(max_length=64)
    filled_at = models.DateTimeField()

    class Meta:
        ordering = ["filled_at"]
        constraints = [
            models.UniqueConstraint(fields=["order", "broker_fill_id"], name="uniq_fill_per_order"),
            # A broker's fill (trade) id names one trade of the account: booked once, whatever order it reaches.
            models.UniqueConstraint(fields=["broker_account", "broker_fill_id"], name="uniq_fill_per_account"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="fill_quantity_positive"),
        ]

    def __str__(self):
        return f"{self.side} {self.quantity} {self.instrument} @ {self.price}"


class Position(models.Model):
    """A strategy's own book line: two strategies on one account and contract never share a row."""

    strategy = models.ForeignKey(  # leads uniq_position_strategy_account_instrument
        "strategies.Strategy", on_delete=models.PROTECT, related_name="positions", db_index=False
    )
    broker_account = models.ForeignKey("brokers.BrokerAccount", on_delete=models.PROTECT, related_name="positions")
    instrument = models.ForeignKey("market.Instrument", on_delete=models.PROTECT, related_name="positions")
    net_quantity = models.IntegerField(default=0, help_text="Positive long, negative short")
    average_price = models.DecimalField(
        max_digits=16, decimal_places=6, default=0, help_text="Open cost per unit (open_cost / |net_quantity|)"
    )
    open_cost = models.DecimalField(
        max_digits=20,
        decimal_places=2,
        default=0,
        help_text="Exact cost of the open quantity (sum of price x quantity); what closing fills release",
    )
    realized_pnl = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    day = models.DateField(null=True, blank=True, help_text="The trading day day_realized_pnl belongs to")
    day_realized_pnl = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["strategy", "broker_account", "instrument"]
        constraints = [
            models.UniqueConstraint(
                fields=["strategy", "broker_account", "instrument"], name="uniq_position_strategy_account_instrument"
            ),
        ]

    def __str__(self):
        return f"{self.strategy} {self.broker_account.client_id} {self.instrument} {self.net_quantity}"


class Alert(models.Model):
    """Something a trader or ops must see: a missed execution, a rejection, a stale feed, a risk breach."""

    class Kind(models.TextChoices):
        MISSED = "MISSED"
        REJECTED = "REJECTED"
        UNKNOWN_ORDER = "UNKNOWN_ORDER"
        RISK = "RISK"
        STALE_FEED = "STALE_FEED"
        STOP_LOSS = "STOP_LOSS"
        RECONCILIATION = "RECONCILIATION"
        KILL_SWITCH = "KILL_SWITCH"
        FAILED = "FAILED"
        CALENDAR = "CALENDAR"
        SESSION = "SESSION"

    class Severity(models.TextChoices):
        INFO = "INFO"
        WARNING = "WARNING"
        CRITICAL = "CRITICAL"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.WARNING)
    message = models.TextField()
    strategy = models.ForeignKey("strategies.Strategy", on_delete=models.SET_NULL, null=True, blank=True)
    execution = models.ForeignKey(Execution, on_delete=models.SET_NULL, null=True, blank=True)
    broker_account = models.ForeignKey("brokers.BrokerAccount", on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.kind}: {self.message[:60]}"
