"""Demo data for the embedded default: a user, two paper accounts, the seed 001 basket, iron condor and
leg-level allocations. Idempotent: a second run creates nothing twice."""

import datetime as dt
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from allocations.models import Allocation
from allocations.services import AllocationInput, allocations_create
from baskets.models import Basket
from baskets.services import basket_create
from brokers.models import Broker, BrokerAccount
from strategies.models import Strategy
from strategies.services import legs_create, strategy_create

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-trader-2026"

LEGS = [
    # seed 001 Step 3, with explicit strike selection
    (1, "SELL", "PUT", {"method": "DELTA", "delta_value": 0.2}, 50, "SHORT", 5, 10),
    (2, "BUY", "PUT", {"method": "STRIKE_DISTANCE", "strike_distance": 500}, 25, "LONG", 3, 8),
    (3, "SELL", "CALL", {"method": "DELTA", "delta_value": 0.2}, 50, "SHORT", 5, 10),
    (4, "BUY", "CALL", {"method": "STRIKE_DISTANCE", "strike_distance": 500}, 25, "LONG", 3, 8),
]
ALLOCATIONS = [
    # seed 001 Step 4: (client_id, priority, overrides 1..4, risk limits)
    ("ZERODHA123", 1, (3, 3, 1, 1), (10, 50000, 500000, 70)),
    ("ANGELONE456", 2, (1, 1, 4, 4), (15, 30000, 300000, 60)),
]


class Command(BaseCommand):
    help = "Create the demo user, paper accounts, basket, iron condor and allocations (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        created = []
        user_model = get_user_model()
        user = user_model.objects.filter(username=DEMO_USERNAME).first()
        if user is None:
            user = user_model.objects.create_user(DEMO_USERNAME, f"{DEMO_USERNAME}@example.com", DEMO_PASSWORD)
            created.append("user")
        accounts = {}
        for client_id, *_ in ALLOCATIONS:
            account, new = BrokerAccount.objects.get_or_create(
                owner=user,
                client_id=client_id,
                defaults={"broker": Broker.PAPER, "name": f"Paper {client_id}"},
            )
            accounts[client_id] = account
            created += [f"account {client_id}"] if new else []
        basket = Basket.objects.filter(owner=user, basket_name="Conservative Income").first()
        if basket is None:
            basket = basket_create(
                owner=user,
                basket_name="Conservative Income",
                description="Low-risk monthly income strategies",
                initial_capital=Decimal("500000"),
                deployable_percentage=Decimal("80"),
            )
            created.append("basket")
        strategy = Strategy.objects.filter(owner=user, strategy_name="Weekly Iron Condor NIFTY").first()
        if strategy is None:
            strategy = strategy_create(
                owner=user,
                basket=basket,
                strategy_name="Weekly Iron Condor NIFTY",
                description="Weekly NIFTY Iron Condor for income",
                entry_time=dt.time(9, 30),
                exit_time=dt.time(15, 20),
                entry_days=["MONDAY"],
                exit_days=["FRIDAY"],
                product="NRML",
                underlying="NIFTY",
                category="INCOME",
            )
            created.append("strategy")
        if not strategy.legs.exists():
            legs_create(
                strategy=strategy,
                legs=[
                    {
                        "leg_no": no,
                        "lots": 2,
                        "transaction_type": side,
                        "leg_type": kind,
                        "entry_by": config["method"],
                        "strike_selection_config": config,
                        "stop_loss": Decimal(stop),
                        "expiry_type": "WEEKLY",
                        "expiry_offset": 0,
                        "category": category,
                        "order_type": "LIMIT",
                        "entry_slippage": Decimal(slip),
                        "exit_slippage": Decimal(slip),
                        "entry_max_slippage": Decimal(max_slip),
                        "exit_max_slippage": Decimal(max_slip),
                    }
                    for no, side, kind, config, stop, category, slip, max_slip in LEGS
                ],
            )
            created.append("4 legs")
        allocated = set(
            Allocation.objects.filter(strategy=strategy).values_list("broker_account__client_id", flat=True)
        )
        missing = [
            AllocationInput(
                account=accounts[client_id],
                allocation_type="LEG_LEVEL",
                priority=priority,
                leg_overrides={no: {"lots": lots, "enabled": True} for no, lots in enumerate(overrides, 1)},
                risk_limits={
                    "max_daily_trades": trades,
                    "max_daily_loss": loss,
                    "max_position_value": value,
                    "max_margin_utilization": margin,
                },
            )
            for client_id, priority, overrides, (trades, loss, value, margin) in ALLOCATIONS
            if client_id not in allocated
        ]
        if missing:
            allocations_create(strategy=strategy, items=missing)
            created.append(f"{len(missing)} allocations")
        summary = ", ".join(created) if created else "nothing (already there)"
        self.stdout.write(f"demo: created {summary}")
        self.stdout.write(f"demo login: {DEMO_USERNAME} / {DEMO_PASSWORD}")
