"""Run one execution in a separate process that kills itself (SIGKILL) right after the paper broker has
accepted its Nth order and before the worker records it: the worst moment for a worker to die.

usage: python tests/execution/killed_worker.py <execution_id> <kill_after_orders> <frozen_now_iso>
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

execution_id, kill_after, frozen_now = sys.argv[1], int(sys.argv[2]), dt.datetime.fromisoformat(sys.argv[3])
placed = 0
lock = threading.Lock()
original = paper.PaperBroker.place_orders


def place_then_die(self, requests):
    """The batch call, one order at a time, so the kill lands right after the Nth order."""
    global placed
    answers = []
    for request in requests:
        answers += original(self, [request])  # committed at the paper broker
        with lock:
            placed += 1
            if placed >= kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
    return answers


paper.PaperBroker.place_orders = place_then_die
with time_machine.travel(frozen_now, tick=False):
    execution_run(execution_id=execution_id)
print("finished without being killed")
