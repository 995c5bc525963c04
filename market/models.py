"""Market reference data every other app reads: the trading calendar, the instrument master and the quotes.

These tables were created by the `execution` (calendar) and `brokers` (instruments, quotes) apps; they moved here
in state only, so their table names and rows stay as they were.
"""

from django.db import models
from django.db.models import Q


class Exchange(models.TextChoices):
    NSE = "NSE"
    BSE = "BSE"


class Holiday(models.Model):
    exchange = models.CharField(max_length=4, choices=Exchange.choices)
    date = models.DateField()
    description = models.CharField(max_length=120, blank=True, default="")

    class Meta:
        db_table = "execution_holiday"
        ordering = ["date", "exchange"]
        constraints = [models.UniqueConstraint(fields=["exchange", "date"], name="uniq_holiday_exchange_date")]

    def __str__(self):
        return f"{self.exchange} {self.date} {self.description}"


class TradingSession(models.Model):
    """Dated session times; a day without a row uses the exchange's regular hours if it is not a holiday."""

    exchange = models.CharField(max_length=4, choices=Exchange.choices)
    date = models.DateField()
    open_time = models.TimeField()
    close_time = models.TimeField()
    note = models.CharField(max_length=120, blank=True, default="")

    class Meta:
        db_table = "execution_tradingsession"
        ordering = ["date", "exchange"]
        constraints = [
            models.UniqueConstraint(fields=["exchange", "date"], name="uniq_session_exchange_date"),
            models.CheckConstraint(condition=Q(open_time__lt=models.F("close_time")), name="session_open_before_close"),
        ]

    def __str__(self):
        return f"{self.exchange} {self.date} {self.open_time}-{self.close_time}"


class Instrument(models.Model):
    """One row of the instrument master. Lot sizes and freeze limits are data, never constants."""

    class Kind(models.TextChoices):
        INDEX = "INDEX"
        OPTION = "OPTION"

    class OptionType(models.TextChoices):
        CE = "CE", "Call"
        PE = "PE", "Put"

    exchange = models.CharField(max_length=8)  # NSE/BSE for indices, NFO/BFO for options
    tradingsymbol = models.CharField(max_length=48)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    underlying = models.CharField(max_length=24, db_index=True)
    expiry = models.DateField(null=True, blank=True)
    strike = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    option_type = models.CharField(max_length=2, choices=OptionType.choices, blank=True, default="")
    lot_size = models.PositiveIntegerField(default=1)
    tick_size = models.DecimalField(max_digits=8, decimal_places=2, default="0.05")
    freeze_quantity = models.PositiveIntegerField(null=True, blank=True)
    strike_step = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    broker_tokens = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        db_table = "brokers_instrument"
        ordering = ["underlying", "expiry", "strike", "option_type"]
        constraints = [
            models.UniqueConstraint(fields=["exchange", "tradingsymbol"], name="uniq_instrument_symbol"),
            models.CheckConstraint(condition=Q(lot_size__gte=1), name="instrument_lot_size_positive"),
            models.CheckConstraint(
                condition=Q(kind="INDEX") | (Q(expiry__isnull=False) & Q(strike__isnull=False) & ~Q(option_type="")),
                name="instrument_option_has_contract_fields",
            ),
        ]
        indexes = [models.Index(fields=["underlying", "kind", "expiry", "option_type", "strike"])]

    def __str__(self):
        return f"{self.exchange}:{self.tradingsymbol}"


class Quote(models.Model):
    """Latest price snapshot per instrument, refreshed by the market-data feed."""

    instrument = models.OneToOneField(Instrument, on_delete=models.CASCADE, primary_key=True, related_name="quote")
    ltp = models.DecimalField(max_digits=12, decimal_places=2)
    bid = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    ask = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    oi = models.BigIntegerField(null=True, blank=True)
    iv = models.DecimalField(max_digits=8, decimal_places=4, null=True, blank=True)
    delta = models.DecimalField(max_digits=8, decimal_places=4, null=True, blank=True)
    updated_at = models.DateTimeField()  # no index: it would turn every feed update into a non-HOT update

    class Meta:
        db_table = "brokers_quote"
        constraints = [models.CheckConstraint(condition=Q(ltp__gte=0), name="quote_ltp_not_negative")]

    def __str__(self):
        return f"{self.instrument} {self.ltp}"


class CalendarHorizon(models.Model):
    """How far ahead an exchange's holidays are known ("confirmed until"). Past it the platform trades days
    as ordinary weekdays, marks them "unconfirmed" in the schedule and raises a daily readiness alert from
    30 days before (see `market.horizon`). Seeding and imports only ever move it later; ops may edit it."""

    exchange = models.CharField(max_length=4, choices=Exchange.choices, unique=True)
    confirmed_until = models.DateField(help_text="The last day whose holidays are known.")
    source = models.CharField(max_length=200, blank=True, default="", help_text="What confirmed it.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["exchange"]

    def __str__(self):
        return f"{self.exchange} confirmed until {self.confirmed_until}"
