import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("optionsplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _warm_imports(**kwargs):
    """Import at start-up what the first execution would otherwise import at its entry boundary: every broker
    adapter (`adapter_for` imports them on first use, and Kite's client pulls in Twisted: most of a second of
    CPU per worker, which delayed the first orders after a boundary). Runs after Celery's Django fix-up (its
    receiver is connected when the app is created), so the apps are ready."""
    from brokers.adapters import angelone, paper, zerodha  # noqa: F401
    from config.gc import tune

    tune()  # after the imports, so that they are frozen with the rest of start-up
