"""The market-data loop: quotes for what the strategies and open positions need, on every wall-clock second.

No Celery: one process, one cycle per boundary (see `market.feed.run_feed_loop`). Every 60 cycles it logs the
cycle time p50/max and the ticks skipped because a cycle overran. SIGINT / SIGTERM let the running cycle finish
and exit cleanly; a sleeping loop wakes at once.
"""

import logging
import os
import select
import signal
import statistics
import threading

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from market.feed import CycleReport, after_cycle_hooks, feed_cycle, feed_source, run_feed_loop

logger = logging.getLogger("market.feed")

LOG_EVERY = 60
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class SignalStop:
    """A stop flag for the loop that SIGINT/SIGTERM set and that wakes the loop's sleep at once.

    The handler only assigns an attribute: a signal handler that takes a lock (threading.Event.set does) can
    deadlock against the very thread it interrupted. The wake-up comes from `signal.set_wakeup_fd`, which the
    interpreter writes to as the signal arrives, so a signal between the check and the sleep is never lost."""

    def __init__(self):
        self.received: str | None = None
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        self._previous_handlers = {}
        self._previous_wakeup_fd = -1

    def __enter__(self):
        self._previous_wakeup_fd = signal.set_wakeup_fd(self._write)
        for signum in STOP_SIGNALS:
            self._previous_handlers[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info):
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(self._previous_wakeup_fd)
        os.close(self._read)
        os.close(self._write)

    def _handle(self, signum, frame):
        self.received = signal.Signals(signum).name

    def is_set(self) -> bool:
        return self.received is not None

    def wait(self, timeout: float) -> bool:
        if not self.is_set():
            select.select([self._read], [], [], max(timeout, 0))
            try:
                os.read(self._read, 512)
            except BlockingIOError:
                pass  # woken by the timeout: nothing to drain
        return self.is_set()


class Command(BaseCommand):
    help = "Run the market-data feed (the paper simulator): one bulk quote upsert per wall-clock second."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=None, help="Seed of the simulated market (a repeatable run)")
        parser.add_argument("--once", action="store_true", help="Run one cycle now and exit")
        parser.add_argument("--cycles", type=int, default=None, help="Stop after this many cycles")
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between cycles (default 1)")
        parser.add_argument(
            "--no-monitors",
            action="store_true",
            help="Do not run the after-cycle hooks (order sync, stop-loss check)",
        )
        parser.add_argument(
            "--strikes", type=int, default=None, help="Strike steps each side of the money to quote (default 30)"
        )

    def handle(
        self, *args, seed=None, once=False, cycles=None, interval=1.0, strikes=None, no_monitors=False, **options
    ):
        if interval <= 0:
            raise CommandError("--interval must be positive.")
        if cycles is not None and cycles < 1:
            raise CommandError("--cycles must be at least 1.")
        if strikes is not None and strikes < 0:
            raise CommandError("--strikes cannot be negative.")
        source = feed_source(seed=seed)  # a connected broker's live quotes, else the simulated feed
        if not once:
            from config.gc import tune

            tune()
        logger.info("feed source: %s", type(source).__name__)

        if once:
            result = feed_cycle(source, timezone.now(), strikes_each_side=strikes)
            self.stdout.write(f"Feed: {result.quotes} quotes written for {result.instruments} instruments.")
            return

        def after_cycle(report: CycleReport) -> None:
            """The hooks the apps above registered (execution: order sync after every cycle, the stop-loss check
            after each that wrote quotes); the feed keeps running whatever they raise (the minute tick does the
            same work again)."""
            for hook in after_cycle_hooks(quoted=report.result is not None):
                try:
                    hook()
                except Exception:
                    logger.exception("After-cycle hook %s failed.", getattr(hook, "__qualname__", hook))

        window: list[float] = []
        totals = {"skipped": 0, "failed": 0, "quotes": 0}

        def on_cycle(report: CycleReport) -> None:
            if not no_monitors:
                after_cycle(report)
            window.append(report.duration)
            totals["skipped"] += report.skipped
            if report.result is None:
                totals["failed"] += 1
            else:
                totals["quotes"] = report.result.quotes
            if report.skipped:
                logger.warning("Feed cycle took %.0f ms: skipped %d tick(s).", report.duration * 1000, report.skipped)
            if len(window) >= LOG_EVERY:
                logger.info(
                    "Feed: %d cycles, %d quotes per cycle, cycle time p50 %.1f ms max %.1f ms, "
                    "%d ticks skipped, %d cycles failed so far.",
                    report.number,
                    totals["quotes"],
                    statistics.median(window) * 1000,
                    max(window) * 1000,
                    totals["skipped"],
                    totals["failed"],
                )
                window.clear()

        self.stdout.write(f"Feed running every {interval:g} s (Ctrl-C stops it).")
        if threading.current_thread() is threading.main_thread():
            with SignalStop() as stop:
                done = run_feed_loop(
                    source, interval=interval, cycles=cycles, stop=stop, on_cycle=on_cycle, strikes_each_side=strikes
                )
            if stop.received:
                self.stdout.write(f"{stop.received} received.")
        else:  # signals reach the main thread only; whoever runs us in a thread stops us with --cycles
            done = run_feed_loop(source, interval=interval, cycles=cycles, on_cycle=on_cycle, strikes_each_side=strikes)
        self.stdout.write(
            f"Feed stopped after {done} cycles ({totals['skipped']} ticks skipped, {totals['failed']} cycles failed)."
        )
