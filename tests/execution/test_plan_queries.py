"""Loading an execution's plan takes a fixed number of queries whatever the legs and accounts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from allocations.models import Allocation
from execution.services.plan import entry_plan
from tests.factories import BrokerAccountFactory, LegFactory, StrategyFactory

from .conftest import MONDAY_0930, make_chain, new_execution

pytestmark = pytest.mark.django_db


def strategy_with(owner, legs, accounts):
    strategy = StrategyFactory(owner=owner)
    for leg_no in range(1, legs + 1):
        LegFactory(
            strategy=strategy,
            leg_no=leg_no,
            transaction_type="BUY" if leg_no % 2 else "SELL",
            leg_type="CALL" if leg_no % 4 < 2 else "PUT",
            entry_by="ATM_OFFSET",
            strike_selection_config={"method": "ATM_OFFSET", "atm_offset": leg_no},
            expiry_offset=leg_no % 2,
            lots=1,
        )
    for n in range(accounts):
        account = BrokerAccountFactory(owner=owner, client_id=f"ACC{legs}X{n}")
        Allocation.objects.create(strategy=strategy, broker_account=account, strategy_lots_multiplier=n + 1)
    return strategy


def queries_for_plan(strategy):
    execution = new_execution(strategy)
    execution = type(execution).objects.select_related("strategy", "strategy__basket").get(pk=execution.pk)
    with CaptureQueriesContext(connection) as ctx:
        plan = entry_plan(execution=execution, now=MONDAY_0930)
    assert not plan.error, plan.error
    return len(ctx.captured_queries), plan


def test_plan_queries_are_the_same_for_2_legs_1_account_and_8_legs_5_accounts(frozen, trader, settings):
    # The ×5 account's estimated margin is above the default paper funds: within the margin size limit with more.
    settings.PAPER_ACCOUNT_FUNDS = "100000000"
    make_chain()
    small, small_plan = queries_for_plan(strategy_with(trader, legs=2, accounts=1))
    large, large_plan = queries_for_plan(strategy_with(trader, legs=8, accounts=5))
    assert len(small_plan.orders) == 2 and len(large_plan.orders) == 40
    print(f"plan queries: 2 legs x 1 account = {small}, 8 legs x 5 accounts = {large}")
    assert small == large, (small, large)
    assert large <= 10
