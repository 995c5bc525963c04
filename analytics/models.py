from django.db import models


class DailyMark(models.Model):
    """The end-of-day snapshot of one book (a strategy on one broker account) on one trading day.

    Written by the nightly housekeeping (`analytics.tasks.marks_nightly`) and rebuilt from the fills by
    `manage.py backfill_marks`; see `analytics.marks` for how each figure is defined. Amounts in ₹; `gross_pnl`
    is before and `net_pnl` after the estimated charges (`fees`, broken down in `charges`)."""

    strategy = models.ForeignKey("strategies.Strategy", on_delete=models.CASCADE, related_name="daily_marks")
    broker_account = models.ForeignKey("brokers.BrokerAccount", on_delete=models.CASCADE, related_name="daily_marks")
    date = models.DateField(help_text="The trading day (exchange local)")
    realized_pnl = models.DecimalField(max_digits=16, decimal_places=2, default=0, help_text="Realized that day")
    unrealized_pnl = models.DecimalField(
        max_digits=16, decimal_places=2, default=0, help_text="Open positions at the close price"
    )
    gross_pnl = models.DecimalField(
        max_digits=16, decimal_places=2, default=0, help_text="realized + change in unrealized since the day before"
    )
    fees = models.DecimalField(max_digits=16, decimal_places=2, default=0, help_text="Estimated charges that day")
    net_pnl = models.DecimalField(max_digits=16, decimal_places=2, default=0, help_text="gross_pnl − fees")
    capital_used = models.DecimalField(
        max_digits=16, decimal_places=2, default=0, help_text="Largest estimated margin the book needed that day"
    )
    charges = models.JSONField(default=dict, blank=True, help_text="fees by component: brokerage, stt, …")
    by_leg = models.JSONField(default=dict, blank=True, help_text='{"leg_no": {"gross", "fees", "net"}}')
    closes = models.JSONField(default=dict, blank=True, help_text='{"instrument_id": close price used}')
    priced = models.BooleanField(default=True, help_text="False: a held contract had no close price")
    open_quantity = models.PositiveIntegerField(default=0, help_text="Σ |net quantity| held at the close")
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date", "strategy", "broker_account"]
        constraints = [
            models.UniqueConstraint(
                fields=["strategy", "broker_account", "date"], name="uniq_daily_mark_strategy_account_date"
            ),
        ]
        indexes = [models.Index(fields=["strategy", "date"], name="daily_mark_strategy_date")]

    def __str__(self):
        return f"{self.strategy} {self.broker_account.client_id} {self.date} net {self.net_pnl}"


class IntradayMark(models.Model):
    """A strategy's mark-to-market (realized today + open positions at the last price), sampled each minute
    from the feed while the strategy holds positions: the strategy page's intraday line."""

    strategy = models.ForeignKey("strategies.Strategy", on_delete=models.CASCADE, related_name="intraday_marks")
    at = models.DateTimeField()
    mtm = models.DecimalField(max_digits=16, decimal_places=2)

    class Meta:
        ordering = ["at"]
        constraints = [models.UniqueConstraint(fields=["strategy", "at"], name="uniq_intraday_mark_strategy_at")]

    def __str__(self):
        return f"{self.strategy} {self.at:%H:%M} {self.mtm}"
