"""Start a fake as a subprocess on a free 127.0.0.1 port and steer it (tests, `make run` with BROKER_SANDBOX=1)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeProcess:
    """A running fake: `url`, `control(**faults)`, `orders()`, `requests()`, `fill()`, `stop()`."""

    def __init__(self, module: str, *args: str, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"brokers.fakes.{module}", "--port", str(self.port), *args],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                requests.get(f"{self.url}/_control/orders", timeout=1)
                break
            except requests.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    error = self.process.stderr.read().decode() if self.process.poll() is not None else "timeout"
                    raise RuntimeError(f"fake {module} did not start: {error}") from None
                time.sleep(0.05)

    def control(self, **settings) -> dict:
        return requests.post(f"{self.url}/_control", json=settings, timeout=5).json()

    def reset(self, **settings) -> dict:
        return self.control(reset=True, **settings)

    def orders(self) -> list[dict]:
        return requests.get(f"{self.url}/_control/orders", timeout=5).json()["orders"]

    def requests(self) -> list[dict]:
        return requests.get(f"{self.url}/_control/orders", timeout=5).json()["requests"]

    def fill(self, order_id: str | None = None, quantity: int | None = None) -> list[str]:
        """Fill resting orders now: all, or one; `quantity` more of each (a partial fill), or all of it."""
        body = {k: v for k, v in {"order_id": order_id, "quantity": quantity}.items() if v}
        return requests.post(f"{self.url}/_control/fill", json=body, timeout=5).json()["filled"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()
