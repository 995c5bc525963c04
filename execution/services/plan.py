"""Load what an execution needs in a fixed number of queries, resolve contracts once per leg, and turn
every account's lots into order intents with deterministic tags."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch, Q

from allocations.lots import LotsError
from allocations.models import Allocation, LegOverride
from allocations.selectors import allocation_lots
from brokers.adapters.base import BrokerError, OrderRequest, adapter_for
from brokers.margin import LegQuantity, estimate_margin
from brokers.models import BrokerAccount
from brokers.sessions import session_valid_at
from config.db import build, rows_for_keys
from market import contracts
from market.calendar import EXCHANGE_TZ
from market.contracts import Contract, ContractError
from market.models import Instrument
from market.quotes import QuoteView, is_stale, simulated_quote, view
from strategies.models import Leg

from ..models import Execution, Order, Position
from . import books, risk
from .claims import broker_call

log = logging.getLogger(__name__)


def order_tag(execution_id, account_id, key: str, slice_no: int) -> str:
    """Deterministic, unique, at most 20 characters, letters and digits only (safe for every broker).

    `key` names what the order trades within the execution: "L<leg_no>" on entry, "I<instrument id>" on exit."""
    digest = hashlib.blake2b(f"{execution_id}:{account_id}:{key}:{slice_no}".encode(), digest_size=10).digest()
    return "OP" + base64.b32encode(digest).decode()[:16]


@dataclass
class LegResult:
    leg_no: int
    transaction_type: str
    leg_type: str
    base_lots: int
    final_lots: int
    multiplier_applied: Decimal | None
    tradingsymbol: str = ""
    quantity: int = 0
    status: str = "PLANNED"
    message: str = ""
    tags: list[str] = field(default_factory=list)


@dataclass
class AccountPlan:
    account: BrokerAccount
    allocation: Allocation | None
    legs: list[LegResult] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    skipped: str = ""

    @property
    def total_lots(self) -> int:
        return sum(leg.final_lots for leg in self.legs)


@dataclass
class Plan:
    accounts: list[AccountPlan]
    error: str = ""  # a refusal of the whole execution (nothing is placed)

    @property
    def orders(self) -> list[Order]:
        return [order for account in self.accounts for order in account.orders]


def _local_day_start(now: dt.datetime) -> dt.datetime:
    local = now.astimezone(EXCHANGE_TZ)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _contract(instrument: Instrument, now: dt.datetime, spot: Decimal, feed_seen: bool) -> Contract:
    stored = getattr(instrument, "quote", None)
    if stored is not None:
        quote = view(stored, now)
    elif not feed_seen:
        # No feed has ever priced this underlying: the paper broker's simulated chain stands in.
        quote = simulated_quote(instrument, now, spot=spot)
    else:
        quote = None
    return Contract(
        instrument_id=instrument.pk,
        exchange=instrument.exchange,
        tradingsymbol=instrument.tradingsymbol,
        expiry=instrument.expiry,
        strike=instrument.strike,
        option_type=instrument.option_type,
        lot_size=instrument.lot_size,
        freeze_quantity=instrument.freeze_quantity,
        tick_size=instrument.tick_size,
        quote=quote,
    )


def _delta_of(spot: Decimal, now: dt.datetime):
    from market.pricing import implied_delta

    def delta(contract: Contract) -> Decimal | None:
        quote = contract.quote
        if quote is None or quote.stale:
            return None
        if quote.delta is not None:
            return quote.delta
        return implied_delta(
            price=quote.ltp,
            spot=spot,
            strike=contract.strike,
            option_type=contract.option_type,
            expiry=contract.expiry,
            now=now,
        )

    return delta


@dataclass
class Chain:
    """One underlying's option chain as the planner sees it at one instant, shared by every strategy on that
    underlying in a batch: the spot, the strike step, and the contracts of the expiries the legs need."""

    underlying: str
    spot: Decimal | None = None
    step: Decimal = Decimal(50)
    error: str = ""
    expiries: list[dt.date] = field(default_factory=list)
    by_series: dict = field(default_factory=dict)  # (expiry, option_type) -> [Contract]
    delta_of: object = None


def chains_load(*, wanted: dict[str, list[Leg]], now: dt.datetime) -> dict[str, Chain]:
    """The chain of each underlying, with the contracts of every expiry any of its legs asks for.
    Three queries per underlying, however many strategies and legs share it."""
    chains = {}
    for underlying, legs in wanted.items():
        chain = chains[underlying] = Chain(underlying)
        index = (
            Instrument.objects.filter(underlying=underlying, kind=Instrument.Kind.INDEX).select_related("quote").first()
        )
        if index is None:
            chain.error = f"the instrument master has no {underlying} index; run load_instruments"
            continue
        index_quote = getattr(index, "quote", None)
        feed_seen = index_quote is not None
        if index_quote is not None:
            if is_stale(index_quote.updated_at, now):
                chain.error = (
                    f"the {underlying} price is stale (last update {index_quote.updated_at.astimezone(EXCHANGE_TZ):%H:%M:%S} IST); "
                    "the market-data feed is not running"
                )
                continue
            chain.spot = index_quote.ltp
        else:
            from market.quotes import reference_spots

            chain.spot = reference_spots().get(underlying)
            if chain.spot is None:
                chain.error = f"no price for {underlying}"
                continue
        chain.step = index.strike_step or Decimal(50)
        options = Instrument.objects.filter(
            underlying=underlying,
            kind=Instrument.Kind.OPTION,
            active=True,
            expiry__gte=now.astimezone(EXCHANGE_TZ).date(),
        )
        chain.expiries = sorted(set(options.values_list("expiry", flat=True).distinct()))
        needed = set()
        for leg in legs:
            try:
                needed.add(contracts.pick_expiry(chain.expiries, expiry_type=leg.expiry_type, offset=leg.expiry_offset))
            except ContractError:
                pass  # reported against the leg when its strategy is resolved
        for instrument in options.filter(expiry__in=list(needed)).select_related("quote"):
            contract = _contract(instrument, now, chain.spot, feed_seen)
            chain.by_series.setdefault((contract.expiry, contract.option_type), []).append(contract)
        chain.delta_of = _delta_of(chain.spot, now)
    return chains


def resolve_contracts(strategy, legs: list[Leg], now: dt.datetime, chain: Chain | None = None) -> tuple[dict, Decimal]:
    """For each leg_no: its contract and (for LIMIT legs) its limit price; and the spot used.
    Raises ContractError naming the leg. `chain` is the underlying's chain when the caller loaded it already."""
    if chain is None:
        chain = chains_load(wanted={strategy.underlying: legs}, now=now)[strategy.underlying]
    if chain.error:
        raise ContractError(chain.error)
    atm = contracts.atm_strike(chain.spot, chain.step)
    resolved = {}
    for leg in legs:
        try:
            expiry = contracts.pick_expiry(chain.expiries, expiry_type=leg.expiry_type, offset=leg.expiry_offset)
            contract = contracts.pick_strike(
                leg_type=leg.leg_type,
                config=leg.strike_selection_config or {"method": leg.entry_by},
                atm=atm,
                step=chain.step,
                chain=chain.by_series.get((expiry, contracts.OPTION_TYPE[leg.leg_type]), []),
                delta_of=chain.delta_of,
            )
        except ContractError as exc:
            raise ContractError(f"leg {leg.leg_no}: {exc}") from None
        price = None
        if leg.order_type == Leg.OrderType.LIMIT:
            price = limit_for(contract, leg.transaction_type, leg.entry_slippage, leg_no=leg.leg_no)
        resolved[leg.leg_no] = (contract, price)
    return resolved, chain.spot


def limit_for(contract: Contract, side: str, slippage: Decimal, *, leg_no: int) -> Decimal:
    quote: QuoteView | None = contract.quote
    if quote is None:
        raise ContractError(f"leg {leg_no}: no quote for {contract.tradingsymbol}; cannot price a limit order")
    if quote.stale:
        raise ContractError(
            f"leg {leg_no}: the quote for {contract.tradingsymbol} is stale "
            f"(last update {quote.updated_at.astimezone(EXCHANGE_TZ):%H:%M:%S} IST); refusing to price a limit order off it"
        )
    return contracts.limit_price(side=side, ltp=quote.ltp, slippage=slippage, tick=contract.tick_size)


def _account_days(pairs: set[tuple], now) -> dict:
    """Today's order count (orders that reached the broker, or will) and P&L per (strategy, account) for the whole batch in two queries. The P&L is the
    one the daily-loss monitor watches: realized today plus unrealized at the last fresh price (a held
    contract without one makes it unknown, which blocks no entry: the stale-feed check reports it)."""
    start = _local_day_start(now)
    keys = sorted(pairs, key=str)
    orders: dict = {}
    for order in rows_for_keys(Order, ["strategy_id", "broker_account_id"], keys, since=("created_at", start)):
        if order.status == Order.Status.CANCELLED and not order.broker_order_id and not order.filled_quantity:
            continue  # never reached the broker (not sent, or never placed): no trade of the day
        pair = (order.strategy_id, order.broker_account_id)
        orders[pair] = orders.get(pair, 0) + 1
    pnl: dict = {}
    today = start.date()
    positions = Position.objects.filter(
        Q(day=today) | ~Q(net_quantity=0),
        strategy_id__in={s for s, _ in pairs},
        broker_account_id__in={a for _, a in pairs},
    ).select_related("instrument__quote")
    for position in positions:
        pair = (position.strategy_id, position.broker_account_id)
        if pair not in pairs:
            continue
        value = books.position_pnl_today(position, now=now)
        pnl[pair] = None if value is None or pnl.get(pair, 0) is None else pnl.get(pair, Decimal(0)) + value
    return {pair: risk.AccountDay(orders.get(pair, 0), pnl.get(pair, Decimal(0))) for pair in pairs}


class Funds:
    """Each account's available funds, asked of its broker (under the broker deadline) at most once per
    batch and only when a limit needs them. A lookup that fails is that account's skip reason."""

    def __init__(self):
        self.known: dict = {}

    def of(self, account: BrokerAccount) -> Decimal | None:
        if account.pk not in self.known:
            try:
                self.known[account.pk] = broker_call(adapter_for(account).available_funds)
            except Exception as exc:
                message = exc.message if isinstance(exc, BrokerError) else f"{type(exc).__name__}: {exc}"
                self.known[account.pk] = AccountSkip(f"available funds of {account.client_id} unknown: {message}")
        value = self.known[account.pk]
        if isinstance(value, AccountSkip):
            raise value
        return value

    def margin(self, account: BrokerAccount, requests: list[OrderRequest], *, estimate: Decimal | None):
        """The margin the account's broker itself computes for these orders placed together, when its adapter
        can ask (Zerodha: Kite's basket margins, hedges netted, open positions considered), under the broker
        deadline; the platform's own estimate when it cannot, or when the broker does not answer."""
        broker = adapter_for(account)
        if not hasattr(broker, "order_margin"):
            return estimate
        try:
            value = broker_call(broker.order_margin, requests)
        except Exception as exc:
            message = exc.message if isinstance(exc, BrokerError) else f"{type(exc).__name__}: {exc}"
            log.warning("%s: broker margin unknown (%s); using the estimate %s", account.client_id, message, estimate)
            return estimate
        return estimate if value is None else value


class AccountSkip(Exception):
    """This account cannot trade this entry; the message is its skip reason (the other accounts go on)."""


def _new_order(execution, account, key, leg_no, leg, contract, side, lots, quantity, price, slice_no, sequence):
    return build(
        Order,
        execution=execution,
        strategy_id=execution.strategy_id,
        broker_account=account,
        leg=leg,
        leg_no=leg_no,
        instrument_id=contract.instrument_id,
        side=side,
        lots=lots,
        quantity=quantity,
        order_type="LIMIT" if price is not None else "MARKET",
        limit_price=price,
        tag=order_tag(execution.pk, account.pk, key, slice_no),
        slice_no=slice_no,
        sequence=sequence,
    )


def entry_plan(*, execution: Execution, now: dt.datetime) -> Plan:
    return entries_plan(executions=[execution], now=now)[execution.pk]


def entries_plan(*, executions: list[Execution], now: dt.datetime) -> dict:
    """Plans for many entries at once, keyed by execution id, in a fixed number of queries: the legs, the
    allocations (with overrides), today's orders and P&L, and three per underlying for its chain."""
    strategy_ids = {e.strategy_id for e in executions}
    legs_of: dict = {}
    for leg in Leg.objects.filter(strategy_id__in=strategy_ids, enabled=True).order_by("strategy_id", "leg_no"):
        legs_of.setdefault(leg.strategy_id, []).append(leg)
    allocations_of: dict = {}
    for allocation in (
        Allocation.objects.filter(strategy_id__in=strategy_ids, status=Allocation.Status.ACTIVE)
        .select_related("broker_account", "strategy__basket", *risk.SIZE_LIMITS_RELATED)
        .prefetch_related(Prefetch("leg_overrides", queryset=LegOverride.objects.select_related("leg")))
        .order_by("priority", "broker_account__client_id")
    ):
        allocations_of.setdefault(allocation.strategy_id, []).append(allocation)
    wanted: dict = {}
    for execution in executions:
        wanted.setdefault(execution.strategy.underlying, []).extend(legs_of.get(execution.strategy_id, []))
    chains = chains_load(wanted=wanted, now=now) if any(wanted.values()) else {}
    days = _account_days(
        {(s, a.broker_account_id) for s, allocations in allocations_of.items() for a in allocations}, now
    )
    funds = Funds()
    return {
        execution.pk: _isolated(
            _plan_entry,
            execution,
            legs_of.get(execution.strategy_id, []),
            allocations_of.get(execution.strategy_id, []),
            chains.get(execution.strategy.underlying),
            days,
            funds,
            now,
        )
        for execution in executions
    }


def _plan_entry(execution: Execution, legs, allocations, chain, days, funds: Funds, now) -> Plan:
    """Order intents for every allocated account. An account that cannot trade (inactive, blocked, no valid
    session, lots or risk checks, its funds lookup failing, or any unexpected error planning it) is skipped
    with its reason; the other accounts trade. A leg that cannot be resolved or priced refuses the whole
    entry."""
    strategy = execution.strategy
    if not legs:
        return Plan([], error="the strategy has no enabled legs")
    if not allocations:
        return Plan([], error="the strategy has no active allocations")
    try:
        resolved, spot = resolve_contracts(strategy, legs, now, chain)
    except ContractError as exc:
        return Plan([], error=str(exc))
    by_no = {leg.leg_no: leg for leg in legs}
    plans = []
    for allocation in allocations:
        plan = AccountPlan(account=allocation.broker_account, allocation=allocation)
        plans.append(plan)
        try:
            _plan_account(plan, execution, by_no, resolved, spot, days, funds, now)
        except AccountSkip as exc:
            plan.skipped = str(exc)
        except Exception as exc:  # a bug planning this account: logged in full; the other accounts go on
            log.exception("planning execution %s for account %s failed", execution.pk, plan.account.client_id)
            plan.skipped = f"planning failed unexpectedly ({type(exc).__name__}: {exc}); nothing was placed here"
        if plan.skipped:
            plan.orders = []
            for result in plan.legs:
                result.status, result.message, result.tags = "SKIPPED", plan.skipped, []
    return Plan(plans)


def _plan_account(plan: AccountPlan, execution, by_no: dict, resolved: dict, spot, days, funds: Funds, now) -> None:
    """One account's legs and order intents, or AccountSkip with the reason it cannot trade this entry."""
    strategy, account, allocation = execution.strategy, plan.account, plan.allocation
    if account.status != BrokerAccount.Status.ACTIVE:
        raise AccountSkip(f"account {account.client_id} is {account.status}")
    if account.entries_blocked:
        raise AccountSkip(f"kill switch: entries are blocked on {account.client_id}")
    if not session_valid_at(account, now):
        raise AccountSkip(f"no valid {account.broker} session for {account.client_id}: log in again")
    try:
        lots = allocation_lots(allocation, legs=list(by_no.values()))
    except LotsError as exc:
        raise AccountSkip(exc.message) from None
    for line in lots.legs:
        leg = by_no[line.leg_no]
        contract, price = resolved[line.leg_no]
        plan.legs.append(
            LegResult(
                leg_no=line.leg_no,
                transaction_type=leg.transaction_type,
                leg_type=leg.leg_type,
                base_lots=line.base_lots,
                final_lots=line.final_lots,
                multiplier_applied=line.multiplier_applied,
                tradingsymbol=contract.tradingsymbol,
                quantity=line.final_lots * contract.lot_size,
            )
        )
    value = Decimal(0)
    for result in plan.legs:
        contract, price = resolved[result.leg_no]
        reference = price if price is not None else (contract.quote.ltp if contract.quote else Decimal(0))
        value += reference * result.quantity
    spot_margin = estimate_margin(
        [LegQuantity(r.leg_type, r.transaction_type, r.quantity) for r in plan.legs],
        spot=spot,
    )
    limits = allocation.risk_limits or {}
    margin = funds.margin(
        account,
        [
            OrderRequest(
                tag="",
                instrument_id=resolved[r.leg_no][0].instrument_id,
                exchange=resolved[r.leg_no][0].exchange,
                tradingsymbol=resolved[r.leg_no][0].tradingsymbol,
                side=r.transaction_type,
                quantity=r.quantity,
                order_type="LIMIT" if resolved[r.leg_no][1] is not None else "MARKET",
                limit_price=resolved[r.leg_no][1],
                product=strategy.product,
            )
            for r in plan.legs
            if r.quantity
        ],
        estimate=spot_margin,
    )
    reason = risk.breach(
        limits,
        days[(strategy.pk, account.pk)],
        risk.Proposed(
            orders=sum(
                len(contracts.slices(r.quantity, lot_size=resolved[r.leg_no][0].lot_size,
                                     freeze_quantity=resolved[r.leg_no][0].freeze_quantity))
                for r in plan.legs
            ),
            position_value=value,
            margin=margin,
            # the size limit max_margin_percent needs the funds whenever the margin is known
            funds=funds.of(account) if margin is not None or limits.get("max_margin_utilization") is not None else None,
            lots_per_leg={r.leg_no: r.final_lots for r in plan.legs},
            client_id=account.client_id,
        ),
        size_limits=risk.size_limits(account),
    )  # fmt: skip
    if reason:
        raise AccountSkip(f"risk limit: {reason}")
    # BUY legs before SELL legs: the hedge is in place (and margin benefit granted) before the short.
    sequence = 0
    for result in sorted(plan.legs, key=lambda r: (r.transaction_type != "BUY", r.leg_no)):
        contract, price = resolved[result.leg_no]
        parts = contracts.slices(result.quantity, lot_size=contract.lot_size, freeze_quantity=contract.freeze_quantity)
        for slice_no, quantity in enumerate(parts, 1):
            sequence += 1
            order = _new_order(
                execution,
                account,
                f"L{result.leg_no}",
                result.leg_no,
                by_no[result.leg_no],
                contract,
                result.transaction_type,
                quantity // contract.lot_size,
                quantity,
                price,
                slice_no,
                sequence,
            )
            plan.orders.append(order)
            result.tags.append(order.tag)


def exits_plan(*, executions: list[Execution], now: dt.datetime) -> dict:
    """Plans for many exits at once, keyed by execution id, in three queries: the open positions, the leg
    that opened each instrument (from the strategies' orders), and the legs."""
    strategy_ids = {e.strategy_id for e in executions}
    positions_of: dict = {}
    for position in (
        Position.objects.filter(strategy_id__in=strategy_ids)
        .exclude(net_quantity=0)
        .select_related("broker_account", "instrument", "instrument__quote")
        .order_by("broker_account__client_id", "net_quantity", "instrument__tradingsymbol")
    ):
        positions_of.setdefault(position.strategy_id, []).append(position)
    leg_of = {
        (strategy_id, instrument_id): leg_id
        for strategy_id, instrument_id, leg_id in Order.objects.filter(strategy_id__in=strategy_ids, leg__isnull=False)
        .order_by("instrument_id", "created_at")
        .values_list("strategy_id", "instrument_id", "leg_id")
    }
    legs = Leg.objects.filter(strategy_id__in=strategy_ids).in_bulk()
    return {e.pk: _isolated(_plan_exit, e, positions_of.get(e.strategy_id, []), leg_of, legs, now) for e in executions}


def _isolated(plan, execution: Execution, *args) -> Plan:
    """One execution's plan; an unexpected error in it refuses that execution alone (FAILED, with an alert
    naming the error) instead of failing every execution of its batch."""
    try:
        return plan(execution, *args)
    except Exception as exc:  # a bug: logged in full, the rest of the batch goes on
        log.exception("planning execution %s failed", execution.pk)
        return Plan([], error=f"planning failed unexpectedly ({type(exc).__name__}: {exc}); nothing was placed")


def _plan_exit(execution: Execution, positions: list[Position], leg_of: dict, legs: dict, now) -> Plan:
    """Close exactly the strategy's own open quantity, per account: shorts first (buy back), then longs."""
    if execution.scope.get("positions"):  # a monitor's exit closes only the positions that triggered it
        scope = {str(pk) for pk in execution.scope["positions"]}
        positions = [p for p in positions if str(p.pk) in scope]
    plans: dict = {}
    for position in positions:  # net_quantity ascending: shorts (negative) come first within an account
        plan = plans.setdefault(
            position.broker_account_id, AccountPlan(account=position.broker_account, allocation=None)
        )
        instrument = position.instrument
        leg = legs.get(leg_of.get((execution.strategy_id, instrument.pk)))
        side = "BUY" if position.net_quantity < 0 else "SELL"
        contract = _contract(instrument, now, Decimal(0), feed_seen=True)
        result = LegResult(
            leg_no=leg.leg_no if leg else 0,
            transaction_type=side,
            leg_type="CALL" if instrument.option_type == "CE" else "PUT",
            base_lots=leg.lots if leg else 0,
            final_lots=abs(position.net_quantity) // instrument.lot_size,
            multiplier_applied=None,
            tradingsymbol=instrument.tradingsymbol,
            quantity=abs(position.net_quantity),
        )
        plan.legs.append(result)
        price = None
        if leg is not None and leg.order_type == Leg.OrderType.LIMIT:
            try:
                price = limit_for(contract, side, leg.exit_slippage, leg_no=result.leg_no)
            except ContractError as exc:
                # An exit must not wait for a limit price: it goes at market, and says why.
                result.message = f"{exc}; exiting at market instead"
        parts = contracts.slices(
            result.quantity, lot_size=instrument.lot_size, freeze_quantity=instrument.freeze_quantity
        )
        for slice_no, quantity in enumerate(parts, 1):
            order = _new_order(
                execution,
                plan.account,
                f"I{instrument.pk}",
                result.leg_no,
                leg,
                contract,
                side,
                quantity // instrument.lot_size,
                quantity,
                price,
                slice_no,
                len(plan.orders) + 1,
            )
            plan.orders.append(order)
            result.tags.append(order.tag)
    return Plan(list(plans.values()))
