"""Thin Celery entry points: they take ids, call a service, and hold no logic of their own."""

from celery import shared_task
from django.utils import timezone

from .dispatch import batch_sender, execution_send
from .services import lifecycle, monitors, placement, readiness, reconciliation, schedule, session_readiness


@shared_task(ignore_result=True)
def tick():
    """Every minute: materialize and enqueue what is due, one order sync pass and one chase pass (so that no
    fill depends on the feed loop staying alive), reconcile unknown orders, run the monitors."""
    now = timezone.now()
    schedule.executions_materialize(now=now)
    with batch_sender() as send:
        schedule.executions_enqueue(now=now, send=send)
    lifecycle.orders_work(now=now)
    reconciliation.orders_reconcile(now=now)
    monitors.run_all(now=now, send=execution_send)
    session_readiness.sessions_readiness_alert(now=now)


@shared_task(ignore_result=True, acks_late=True)
def run_execution(execution_id):
    placement.execution_run(execution_id=execution_id)


@shared_task(ignore_result=True, acks_late=True)
def run_batch(batch_id):
    """The executions the tick put in one batch (all due at the same instant), run together."""
    placement.batch_run(batch_id=batch_id)


@shared_task(ignore_result=True)
def calendar_readiness():
    """Every morning: from 30 days before the holiday calendar's horizon, alert with the command to run."""
    readiness.calendar_readiness_alert(now=timezone.now())


@shared_task(ignore_result=True)
def housekeeping():
    """Nightly: executions still SCHEDULED after their day are marked MISSED with an alert."""
    monitors.close_out_stale(now=timezone.now())


def check_stop_losses():
    """After every feed cycle (`run_feed` calls it; registered in `ExecutionConfig.ready`): stop-losses are
    checked on every fresh price, not only on the minute tick; an exit they create runs in the worker through
    the same path as every execution."""
    for execution in monitors.stop_loss_check(now=timezone.now()):
        execution_send(execution.pk)


def sync_working_orders():
    """After every feed cycle (`run_feed` calls it; registered in `ExecutionConfig.ready`): while any order works
    at a broker, its state is pulled every second (one status call per account with working orders), then the
    chase pass moves each working execution on; nothing but one EXISTS query when no order works."""
    lifecycle.orders_work()
