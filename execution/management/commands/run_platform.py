"""The embedded default in one command: web server, Celery worker, beat scheduler and market feed.

One Ctrl-C (or SIGTERM) stops them all; if any one of them dies, the others are stopped too, so the
platform never runs half-alive."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import get_commands
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run web + worker + beat (+ feed) together; Ctrl-C stops all."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--concurrency", type=int, default=4, help="Celery worker threads")
        parser.add_argument("--no-feed", action="store_true", help="Do not start the market-data feed")

    def handle(self, *args, host, port, concurrency, no_feed, **options):
        python = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        processes = {
            "web": [python, manage, "runserver", f"{host}:{port}", "--noreload"],
            "worker": [
                python, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO",
                "--pool=threads", f"--concurrency={concurrency}", "--without-gossip", "--without-mingle",
            ],
            "beat": [
                python, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO",
                "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
                "--schedule", str(settings.BASE_DIR / "var" / "celerybeat-schedule"),
            ],
        }  # fmt: skip
        if not no_feed and "run_feed" in get_commands():
            processes["feed"] = [python, manage, "run_feed"]
        (settings.BASE_DIR / "var").mkdir(exist_ok=True)
        fakes = []
        if settings.BROKER_SANDBOX:  # loopback Kite and SmartAPI fakes stand in for the brokers
            from brokers.sandbox import sandbox_start

            fakes = sandbox_start(platform_url=f"http://{host}:{port}", out=self.stdout.write)
        children = {name: subprocess.Popen(cmd, cwd=settings.BASE_DIR) for name, cmd in processes.items()}
        self.stdout.write(self.style.SUCCESS(f"Platform starting: {', '.join(children)}"))
        self.stdout.write(f"  Web:    http://{host}:{port}/   admin: http://{host}:{port}/admin/")
        self.stdout.write(f"  API:    http://{host}:{port}/api/v1/docs/")
        self.stdout.write("  Login:  demo / demo-trader-2026   (Ctrl-C stops everything)")

        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        try:
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None:
                        self.stderr.write(f"{name} exited with code {child.returncode}; stopping the platform")
                        exit_code = child.returncode or 1
                        stopping = True
                        break
                time.sleep(0.5)
        finally:
            self._stop_all(children)
            for fake in fakes:
                fake.stop()
        if exit_code:
            sys.exit(exit_code)

    def _stop_all(self, children):
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for name, child in children.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in time; killing it")
                child.kill()
                child.wait()
        self.stdout.write("Platform stopped.")
