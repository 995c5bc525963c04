"""Install the platform's few named beat rows (never one per strategy). Idempotent."""

import json

from django.core.management.base import BaseCommand
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

TICK = "execution: minute tick"
HOUSEKEEPING = "execution: housekeeping"
READINESS = "execution: calendar readiness"
MARKS = "analytics: daily marks"
INTRADAY = "analytics: intraday MTM"
SESSIONS = "brokers: morning logins"


class Command(BaseCommand):
    help = "Create or update the minute tick, nightly housekeeping, morning calendar readiness and analytics rows."

    def handle(self, *args, **options):
        every_minute, _ = CrontabSchedule.objects.get_or_create(
            minute="*", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
        )
        nightly, _ = CrontabSchedule.objects.get_or_create(
            minute="0", hour="18", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
        )
        morning, _ = CrontabSchedule.objects.get_or_create(  # 08:00 IST, before the pre-open
            minute="30", hour="2", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
        )
        before_readiness, _ = CrontabSchedule.objects.get_or_create(  # 08:30 IST, before the 08:45 session check
            minute="0", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
        )
        after_housekeeping, _ = CrontabSchedule.objects.get_or_create(
            minute="5", hour="18", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
        )
        rows = [
            (TICK, "execution.tasks.tick", every_minute, "Materialize and enqueue executions due in the next minutes"),
            (HOUSEKEEPING, "execution.tasks.housekeeping", nightly, "Close out stale executions, refresh calendar"),
            (READINESS, "execution.tasks.calendar_readiness", morning, "Alert when the holiday calendar runs out"),
            (SESSIONS, "brokers.tasks.sessions_login", before_readiness, "Angel One logins from TOTP secrets"),
            # Named by string: analytics is the top layer and nothing imports it.
            (MARKS, "analytics.tasks.marks_nightly", after_housekeeping, "Daily marks and performance metrics"),
            (INTRADAY, "analytics.tasks.intraday_marks", every_minute, "Intraday MTM of strategies holding"),
        ]
        for name, task, crontab, description in rows:
            _, created = PeriodicTask.objects.update_or_create(
                name=name,
                defaults={
                    "task": task,
                    "crontab": crontab,
                    "interval": None,
                    "args": json.dumps([]),
                    "enabled": True,
                    "description": description,
                },
            )
            self.stdout.write(f"{'created' if created else 'kept'} beat row: {name}")
        IntervalSchedule.objects.filter(periodictask__isnull=True).delete()
