"""API latency under load: 20 concurrent clients against a real gunicorn process on PostgreSQL.

    .venv/bin/python tests/benchmarks/api_latency.py [--clients 20 --seconds 20 --workers 4]

Each client holds a keep-alive session with its own JWT and loops over the CRUD endpoints (list and read
strategies with legs, create/read/update/delete baskets, read legs). Prints p50/p95/p99 per endpoint and
overall, and requests per second. Target: p99 <= 25 ms on a 2-core machine. Prints figures; not pass/fail.
Uses its own database (opl_api_bench)."""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/opl_api_bench")
os.environ["DATABASE_URL"] = URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def setup(clients: int) -> list[tuple[str, str]]:
    """Users with a basket, 10 strategies of 4 legs each; returns (access token, strategy id) per client."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework_simplejwt.tokens import RefreshToken

    from baskets.models import Basket
    from strategies.models import Strategy
    from tests.factories import iron_condor

    call_command("migrate", verbosity=0)
    Strategy.objects.all().delete()
    Basket.objects.all().delete()
    pairs = []
    for n in range(clients):
        user, _ = get_user_model().objects.get_or_create(username=f"bench{n}")
        basket = Basket.objects.create(owner=user, basket_name="bench", initial_capital=500000)
        strategies = [iron_condor(owner=user, basket=basket) for _ in range(10)]
        pairs.append((str(RefreshToken.for_user(user).access_token), str(strategies[0].pk)))
    return pairs


def client_loop(base, token, strategy_id, stop, samples, lock):
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    local = []
    basket = {"basket_name": "b", "initial_capital": 100000, "deployable_percentage": 50}
    while not stop.is_set():
        steps = [
            ("GET strategies (list, legs)", "get", "/api/v1/options/strategies/", None),
            ("GET strategy", "get", f"/api/v1/options/strategies/{strategy_id}/", None),
            ("GET legs", "get", f"/api/v1/options/strategies/{strategy_id}/legs/", None),
            ("POST basket", "post", "/api/v1/options/baskets/", basket),
        ]
        for name, method, path, body in steps:
            started = time.perf_counter()
            response = getattr(session, method)(base + path, json=body)
            local.append((name, (time.perf_counter() - started) * 1000, response.status_code))
            if name == "POST basket":
                basket_id = response.json()["basket_id"]
                for name2, method2, body2 in (
                    ("GET basket", "get", None),
                    ("PATCH basket", "patch", {"description": "x"}),
                    ("DELETE basket", "delete", None),
                ):
                    started = time.perf_counter()
                    r2 = getattr(session, method2)(f"{base}/api/v1/options/baskets/{basket_id}/", json=body2)
                    local.append((name2, (time.perf_counter() - started) * 1000, r2.status_code))
    with lock:
        samples.extend(local)


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    args = parser.parse_args()
    from tests.benchmarks.feed_cycle import ensure_database

    ensure_database(URL)
    pairs = setup(args.clients)
    from django.conf import settings

    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": settings.SECRET_KEY,  # the tokens made in setup() must verify in the server
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        "ALLOWED_HOSTS": "127.0.0.1",
        "CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
        "LOGIN_THROTTLE_RATE": "100000/min",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(args.workers),
         "--worker-class", "gthread", "--threads", "4", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        import requests

        for _ in range(100):
            try:
                requests.get(base + "/api/v1/options/baskets/", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.2)
        stop, lock, samples = threading.Event(), threading.Lock(), []
        # warm-up: every worker opens its database connection
        warm = threading.Event()
        threads = [threading.Thread(target=client_loop, args=(base, t, s, warm, [], lock)) for t, s in pairs]
        for thread in threads:
            thread.start()
        time.sleep(2)
        warm.set()
        for thread in threads:
            thread.join()
        threads = [threading.Thread(target=client_loop, args=(base, t, s, stop, samples, lock)) for t, s in pairs]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        time.sleep(args.seconds)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    errors = [s for s in samples if s[2] >= 400]
    print(f"{args.clients} clients, {args.workers} gunicorn workers × 4 threads, {elapsed:.1f} s, "
          f"{len(samples)} requests ({len(samples) / elapsed:.0f}/s), {len(errors)} errors")  # fmt: skip
    print(f"{'endpoint':32} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    names = sorted({s[0] for s in samples})
    for name in names + ["ALL"]:
        values = [s[1] for s in samples if name in ("ALL", s[0])]
        print(
            f"{name:32} {len(values):>6} {statistics.median(values):>8.1f} {percentile(values, 95):>8.1f} {percentile(values, 99):>8.1f}"
        )


if __name__ == "__main__":
    main()
