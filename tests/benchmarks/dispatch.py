"""Benchmark of scheduled dispatch on PostgreSQL + Redis with real Celery workers and the paper broker.

    .venv/bin/python tests/benchmarks/dispatch.py --strategies 1000 [--workers 2 --threads 4]

N strategies (4 legs each, allocated to 2 paper accounts: 8 orders per execution) all enter at the same
minute boundary. The script starts Celery workers, runs the minute tick a little before the boundary, and
prints: time to materialize + enqueue, whether every row and message was ready before the boundary, delay
from the boundary to the first order, time to the last order, how late the batches were claimed, the CPU the
workers and the whole machine used (and the workers' CPU milliseconds per order placed, steadier across
machines than wall time), queries of one execution and of one batch, and the same dispatch done the
naive way (one django-celery-beat row per strategy, evaluated by the beat scheduler) as a ratio.
Prints figures; not pass/fail. Uses its own database (opl_dispatch_bench) and Redis db 15. The lateness
budget is raised to 600 s so that lateness is measured instead of turned into MISSED executions.
"""

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/opl_dispatch_bench")
os.environ["CELERY_BROKER_URL"] = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("CONN_MAX_AGE", "60")  # persistent connections, as in production settings
os.environ.setdefault("QUOTE_STALE_SECONDS", "3600")  # the stand-in quotes must outlive the run
os.environ.setdefault("EXECUTION_LATENESS_BUDGET_SECONDS", "600")  # measure lateness, don't turn it into MISSED


def setup(n: int, boundary: dt.datetime):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from allocations.models import Allocation
    from brokers.models import BrokerAccount, PaperOrder
    from execution.models import Alert, Execution, Fill, Order, Position
    from strategies.models import Leg, Strategy
    from tests.execution.conftest import make_chain

    call_command("migrate", verbosity=0)
    for model in (Alert, Fill, Position, Order, PaperOrder, Execution, Allocation, Leg, Strategy, BrokerAccount):
        model.objects.all().delete()
    from market.models import Instrument, Quote

    Quote.objects.all().delete()
    Instrument.objects.all().delete()
    make_chain(now=boundary)
    user, _ = get_user_model().objects.get_or_create(username="bench")
    accounts = [BrokerAccount.objects.create(owner=user, client_id=c) for c in ("BENCHZ", "BENCHA")]
    local = boundary.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))
    day = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"][local.weekday()]
    strategies = Strategy.objects.bulk_create(
        Strategy(
            owner=user,
            strategy_name=f"bench {i}",
            entry_time=local.time().replace(second=0, microsecond=0),
            exit_time=dt.time(15, 29),
            entry_days=[day],
            exit_days=[day],
            underlying="NIFTY",
        )
        for i in range(n)
    )
    legs = []
    for strategy in strategies:
        for leg_no, side, kind, offset in (
            (1, "SELL", "PUT", 4),
            (2, "BUY", "PUT", 10),
            (3, "SELL", "CALL", 4),
            (4, "BUY", "CALL", 10),
        ):
            legs.append(
                Leg(
                    strategy=strategy, leg_no=leg_no, lots=1, transaction_type=side, leg_type=kind,
                    entry_by="ATM_OFFSET", strike_selection_config={"method": "ATM_OFFSET", "atm_offset": offset},
                )
            )  # fmt: skip
    Leg.objects.bulk_create(legs, batch_size=5000)
    Allocation.objects.bulk_create(
        [
            Allocation(strategy=s, broker_account=a, strategy_lots_multiplier=m)
            for s in strategies
            for a, m in zip(accounts, (1, 2), strict=True)
        ],
        batch_size=5000,
    )
    # The rows deleted above stay as dead tuples until vacuumed, and this server may run without autovacuum:
    # each run starts from a vacuumed, analyzed database, as a maintained one would be.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def naive_dispatch_seconds(n: int, boundary: dt.datetime) -> float:
    """One beat row per strategy: create the rows, then let the beat scheduler load and evaluate them."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    from config.celery import app
    from strategies.models import Strategy

    PeriodicTask.objects.filter(name__startswith="naive ").delete()
    started = time.perf_counter()
    local = boundary.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=str(local.minute), hour=str(local.hour), timezone="Asia/Kolkata"
    )
    PeriodicTask.objects.bulk_create(
        PeriodicTask(name=f"naive {pk}", task="execution.tasks.run_strategy", crontab=crontab, args=f'["{pk}"]')
        for pk in Strategy.objects.values_list("pk", flat=True)
    )
    scheduler = DatabaseScheduler(app=app, lazy=True)
    entries = scheduler.all_as_schedule()
    due = sum(1 for entry in entries.values() if entry.is_due()[1] is not None)
    # At the boundary the beat then sends one message per due row (what our tick does ahead of time).
    from execution.tasks import run_execution

    for pk in Strategy.objects.values_list("pk", flat=True):
        run_execution.apply_async(args=[str(pk)], countdown=3600)
    elapsed = time.perf_counter() - started
    PeriodicTask.objects.filter(name__startswith="naive ").delete()
    assert due >= n
    return elapsed


def queries_per_execution(boundary) -> tuple[int, int, int]:
    """Queries of one execution run alone in-process (plan, intents, 8 placements, books, results), and of a
    batch of EXECUTION_BATCH_SIZE executions run together: (alone, batch size, batch queries)."""
    import time_machine
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from brokers.models import PaperOrder
    from execution.models import Execution, Fill, Order, Position
    from execution.services.placement import execution_run, executions_run
    from strategies.models import Strategy
    from tests.execution.conftest import new_execution

    size = settings.EXECUTION_BATCH_SIZE
    strategies = list(Strategy.objects.order_by("strategy_name")[: size + 1])
    alone = new_execution(strategies[0], due_at=boundary, trigger="MANUAL")
    batch = [new_execution(s, due_at=boundary, trigger="MANUAL").pk for s in strategies[1:]]
    with time_machine.travel(boundary + dt.timedelta(seconds=1), tick=True):
        with CaptureQueriesContext(connection) as one:
            execution_run(execution_id=alone.pk)
        with CaptureQueriesContext(connection) as many:
            executions_run(execution_ids=batch)
    for model in (Fill, Position, Order, PaperOrder):
        model.objects.all().delete()
    Execution.objects.filter(pk__in=[alone.pk, *batch]).delete()
    return len(one.captured_queries), len(batch), len(many.captured_queries)


def cpu_seconds(name: str) -> float:
    """User + system CPU seconds of every process whose command line contains `name` (from /proc)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if name.encode() not in f.read():
                    continue
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return total


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent not idle (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--strategies", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument("--lead", type=float, default=20.0, help="seconds between the tick and the boundary")
    parser.add_argument(
        "--dispatch-only",
        action="store_true",
        help="measure the tick (materialize + enqueue) and the naive comparison only; start no workers",
    )
    args = parser.parse_args()

    from tests.benchmarks.feed_cycle import ensure_database

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    import redis
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    from brokers.models import PaperOrder
    from execution.dispatch import batch_sender as sender
    from execution.models import Execution, Order
    from execution.services import schedule

    redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).flushdb()
    now = timezone.now()
    # the set-up (and the naive comparison) must finish before the tick, a little before the boundary
    setup_minutes = 2 + args.strategies // 2000
    boundary = (now + dt.timedelta(minutes=setup_minutes)).replace(second=0, microsecond=0)
    print(f"setting up {args.strategies} strategies × 4 legs × 2 accounts ...", flush=True)
    setup(args.strategies, boundary)
    per_execution = queries_per_execution(boundary)
    naive = naive_dispatch_seconds(args.strategies, boundary)
    redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).flushdb()  # drop the naive run's messages
    connection.close()

    if args.dispatch_only:
        started = time.perf_counter()
        tick_now = boundary - dt.timedelta(seconds=args.lead)  # the tick as it runs before the boundary
        rows = schedule.executions_materialize(now=tick_now)
        materialized = time.perf_counter() - started
        with sender() as send:
            messages = []
            enqueued = schedule.executions_enqueue(
                now=tick_now, send=lambda batch, eta: (messages.append(batch), send(batch, eta))
            )
        ready = time.perf_counter() - started
        redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).flushdb()
        print(f"strategies due at one boundary:     {args.strategies}")
        print(
            f"materialize + enqueue:              {ready * 1000:.0f} ms (rows {materialized * 1000:.0f} ms, {rows} rows, {enqueued} executions in {len(messages)} messages)"
        )
        print(f"naive dispatch (1 beat row each):   {naive * 1000:.0f} ms = {naive / ready:.1f}× our tick")
        print(
            f"queries, one execution (8 orders):  {per_execution[0]}; a batch of {per_execution[1]}: {per_execution[2]}"
        )
        return
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=threads",
                f"--concurrency={args.threads}",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "--prefetch-multiplier=64",
                "-n",
                f"bench{i}@%h",
            ],
            cwd=ROOT,
            env=os.environ.copy(),
        )  # fmt: skip
        for i in range(args.workers)
    ]
    try:
        tick_at = boundary - dt.timedelta(seconds=args.lead)
        time.sleep(max(0.0, (tick_at - timezone.now()).total_seconds()))
        cpu_before = cpu_seconds("celery"), machine_busy_seconds()
        started = time.perf_counter()
        tick_now = timezone.now()
        rows = schedule.executions_materialize(now=tick_now)
        materialized = time.perf_counter() - started
        with sender() as send:
            messages = []
            enqueued = schedule.executions_enqueue(
                now=tick_now, send=lambda batch, eta: (messages.append(batch), send(batch, eta))
            )
        ready = time.perf_counter() - started
        ready_at = timezone.now()
        print(f"tick: {rows} rows materialized in {materialized * 1000:.0f} ms; {enqueued} executions enqueued in {len(messages)} messages; "
              f"all ready {ready * 1000:.0f} ms after the tick, {(boundary - ready_at).total_seconds():.1f} s before the boundary", flush=True)  # fmt: skip
        expected = args.strategies * 8
        deadline = time.monotonic() + max(600, args.strategies * 0.5)
        while time.monotonic() < deadline:
            done = Execution.objects.filter(status__in=["COMPLETED", "PARTIAL", "FAILED", "MISSED"]).count()
            if done >= args.strategies:
                break
            time.sleep(1)
        cpu = cpu_seconds("celery") - cpu_before[0], machine_busy_seconds() - cpu_before[1]
        orders = PaperOrder.objects.order_by("created_at").values_list("created_at", flat=True)
        first, last = orders.first(), orders.last()
        count = PaperOrder.objects.count()
        statuses = dict(Execution.objects.order_by().values_list("status").annotate(n=Count("id")))
        tags = Order.objects.count()
        starts = [
            (e.started_at - e.due_at).total_seconds() * 1000
            for e in Execution.objects.exclude(started_at=None).only("started_at", "due_at")
        ]
        ours = ready
        print()
        print(f"strategies due at {boundary:%H:%M:%S} UTC:        {args.strategies}")
        print(
            f"orders placed at the paper broker:  {count} of {expected} intended ({tags} order rows; statuses {statuses})"
        )
        print(f"materialize + enqueue:              {ready * 1000:.0f} ms (rows {materialized * 1000:.0f} ms)")
        print(f"ready before the boundary:          {'yes' if ready_at < boundary else 'NO'}")
        if first:
            print(f"boundary → first order:             {(first - boundary).total_seconds() * 1000:.0f} ms")
            print(f"boundary → last order:              {(last - boundary).total_seconds() * 1000:.0f} ms")
        if starts:
            print(f"claim lateness p50 / max:           {statistics.median(starts):.0f} / {max(starts):.0f} ms")
        print(
            f"CPU used, tick to last execution:   workers {cpu[0]:.1f} s; whole machine {cpu[1]:.1f} s of {os.cpu_count()} cores"
        )
        if count:
            print(f"worker CPU per order:               {cpu[0] * 1000 / count:.2f} ms ({count} orders)")
        print(f"queries, one execution (8 orders):  {per_execution[0]}; a batch of {per_execution[1]}: {per_execution[2]} "
              f"({per_execution[2] / per_execution[1]:.1f} per execution)")  # fmt: skip
        print(f"naive dispatch (1 beat row each):   {naive * 1000:.0f} ms to create, evaluate and send {args.strategies} rows "
              f"= {naive / ours:.1f}× our tick; and the naive sends happen AT the boundary, ours before it")  # fmt: skip
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)


if __name__ == "__main__":
    main()
