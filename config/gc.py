"""Garbage-collector settings for the long-running processes (worker, feed)."""

import gc

from django.conf import settings


def tune() -> tuple[int, int, int]:
    """Freeze what start-up allocated (modules, settings, the app registry: never garbage, no longer scanned
    by every full collection) and collect the first generation every PROCESS_GC_THRESHOLD new objects
    instead of every 700. Returns the thresholds now in force."""
    threshold = getattr(settings, "PROCESS_GC_THRESHOLD", 0)
    if threshold > 0:
        gc.collect()
        gc.freeze()
        gc.set_threshold(threshold, 20, 100)
    return gc.get_threshold()
