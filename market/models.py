"""Market reference data every other app reads: the trading calendar (and, later, instruments and quotes).

The calendar tables were created by the `execution` app; they moved here in state only, so their table names
(`execution_holiday`, `execution_tradingsession`) and rows stay as they were.
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
