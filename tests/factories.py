import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from allocations.models import Allocation, LegOverride
from baskets.models import Basket
from brokers.models import Broker, BrokerAccount
from market.models import Instrument
from strategies.models import Leg, Strategy


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"trader{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("pass-word-123")


class BrokerAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BrokerAccount

    owner = factory.SubFactory(UserFactory)
    broker = Broker.PAPER
    client_id = factory.Sequence(lambda n: f"PAPER{n:04d}")
    name = factory.LazyAttribute(lambda o: f"Account {o.client_id}")


class BasketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Basket

    owner = factory.SubFactory(UserFactory)
    basket_name = factory.Sequence(lambda n: f"Basket {n}")
    description = "Low-risk monthly income strategies"
    initial_capital = Decimal("500000")
    deployable_percentage = Decimal("80")


class StrategyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Strategy

    owner = factory.SubFactory(UserFactory)
    basket = factory.SubFactory(BasketFactory, owner=factory.SelfAttribute("..owner"))
    strategy_name = factory.Sequence(lambda n: f"Weekly Iron Condor {n}")
    entry_time = datetime.time(9, 30)
    exit_time = datetime.time(15, 20)
    entry_days = factory.LazyFunction(lambda: ["MONDAY"])
    exit_days = factory.LazyFunction(lambda: ["FRIDAY"])
    product = Strategy.Product.NRML
    underlying = "NIFTY"


class LegFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Leg

    strategy = factory.SubFactory(StrategyFactory)
    leg_no = factory.Sequence(lambda n: n + 1)
    lots = 2
    transaction_type = Leg.TransactionType.SELL
    leg_type = Leg.LegType.PUT
    entry_by = Leg.EntryBy.ATM_OFFSET
    strike_selection_config = factory.LazyFunction(lambda: {"method": "ATM_OFFSET", "atm_offset": 0})


class AllocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Allocation

    strategy = factory.SubFactory(StrategyFactory)
    broker_account = factory.SubFactory(BrokerAccountFactory, owner=factory.SelfAttribute("..strategy.owner"))
    allocation_type = Allocation.Type.STRATEGY_LEVEL
    strategy_lots_multiplier = Decimal("1")


class LegOverrideFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LegOverride

    allocation = factory.SubFactory(AllocationFactory, allocation_type=Allocation.Type.LEG_LEVEL)
    leg = factory.SubFactory(LegFactory, strategy=factory.SelfAttribute("..allocation.strategy"))
    lots = 1


class OptionInstrumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Instrument

    exchange = "NFO"
    kind = Instrument.Kind.OPTION
    underlying = "NIFTY"
    expiry = datetime.date(2026, 12, 1)
    strike = Decimal("26000")
    option_type = Instrument.OptionType.PE
    lot_size = 65
    freeze_quantity = 1800
    tradingsymbol = factory.LazyAttribute(
        lambda o: f"{o.underlying}{o.expiry:%y%b}{int(o.strike)}{o.option_type}".upper()
    )


IRON_CONDOR_LEGS = [
    # seed 001 Step 3 (leg_no, transaction_type, leg_type)
    (1, "SELL", "PUT"),
    (2, "BUY", "PUT"),
    (3, "SELL", "CALL"),
    (4, "BUY", "CALL"),
]


def iron_condor(*, owner=None, base_lots=(2, 2, 2, 2), **strategy_kwargs):
    """The seed 001 iron condor: a strategy with four legs."""
    strategy = StrategyFactory(**({"owner": owner} if owner else {}), **strategy_kwargs)
    for (leg_no, side, leg_type), lots in zip(IRON_CONDOR_LEGS, base_lots, strict=True):
        LegFactory(strategy=strategy, leg_no=leg_no, transaction_type=side, leg_type=leg_type, lots=lots)
    return strategy
