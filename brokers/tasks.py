"""Thin Celery entry points for broker sessions."""

from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def sessions_login():
    """Each morning (08:30 IST): Angel One accounts log in from their TOTP secrets."""
    services.broker_sessions_login()
