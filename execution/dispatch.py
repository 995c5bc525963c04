"""Sending executions to the worker: the one place that knows how an execution reaches the Celery queue.

Services never enqueue: they take a `send(execution_id, due_at)` callback and call it on commit. Views, the admin,
the API and the tick pass `execution_send` (or, for the tick's batches, the `batch_sender()` context manager).
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

from celery import current_app
from django.utils import timezone


def execution_send(execution_id, due_at: dt.datetime | None = None) -> None:
    """Queue one execution for the worker: now, or at `due_at` when that lies in the future."""
    from .tasks import run_execution

    eta = due_at if due_at is not None and due_at > timezone.now() else None
    run_execution.apply_async(args=[str(execution_id)], eta=eta)


@contextmanager
def batch_sender():
    """A `send(batch_id, eta)` that publishes every message of a tick over one broker connection."""
    from .tasks import run_batch

    with current_app.producer_or_acquire() as producer:
        yield lambda batch_id, due_at: run_batch.apply_async(args=[str(batch_id)], eta=due_at, producer=producer)
