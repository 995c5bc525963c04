"""Run one execution in a separate process that stops itself (SIGSTOP: stalled, not killed) inside its first
broker call, right after the paper broker has accepted the orders and before the answer returns, and goes
on where it stopped when the test sends SIGCONT.

usage: python tests/execution/stalled_worker.py <execution_id> <frozen_now_iso>
DATABASE_URL must point at the test database."""

import os
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

import datetime as dt  # noqa: E402

import time_machine  # noqa: E402

from brokers.adapters import paper  # noqa: E402
from execution.services.placement import execution_run  # noqa: E402

execution_id, frozen_now = sys.argv[1], dt.datetime.fromisoformat(sys.argv[2])
stopped = threading.Event()
one_at_a_time = threading.Lock()
original = paper.PaperBroker.place_orders


def place_then_stall(self, requests):
    # Accounts are placed on parallel threads. One call at a time, so that when the process stops no other
    # thread is inside the paper broker's transaction, holding a row lock the test's resume would wait on.
    with one_at_a_time:
        answers = original(self, requests)  # committed at the paper broker
        if not stopped.is_set():
            stopped.set()
            os.kill(os.getpid(), signal.SIGSTOP)  # the whole worker stalls here, its answer not yet returned
    return answers


paper.PaperBroker.place_orders = place_then_stall
with time_machine.travel(frozen_now, tick=False):
    ran = execution_run(execution_id=execution_id)
print("finished", "nothing" if ran is None else ran.status)
