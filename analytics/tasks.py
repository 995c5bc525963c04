"""Thin Celery entry points of the analytics app (beat rows installed by `manage.py install_schedule`)."""

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(ignore_result=True)
def marks_nightly():
    """Nightly, after the close: today's daily marks and the refreshed performance_metrics."""
    services.marks_nightly(now=timezone.now())


@shared_task(ignore_result=True)
def intraday_marks():
    """Every minute: the MTM sample of each strategy holding positions (the strategy page's intraday line)."""
    services.intraday_marks_sample(now=timezone.now())
