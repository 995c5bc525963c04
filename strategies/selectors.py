import json
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from django.db.models import Max, Prefetch, QuerySet

from market.feed import QuoteDemand
from market.models import Instrument
from market.pricing import RISK_FREE_RATE, annual_volatility
from market.quotes import DATA_FILE
from market.selectors import underlying_specs

from . import payoff
from .models import Leg, Strategy


def strategies_for(*, owner) -> QuerySet[Strategy]:
    """The owner's strategies with their legs, in a fixed number of queries however many there are."""
    return (
        Strategy.objects.filter(owner=owner)
        .select_related("basket")
        .prefetch_related(Prefetch("legs", queryset=Leg.objects.order_by("leg_no")))
    )


def chains_to_quote():
    """The feed's demand from strategies (registered in `StrategiesConfig.ready`): per underlying of an ACTIVE
    strategy, the furthest expiry offset of each expiry type its legs use, in one query."""
    chains: dict[str, dict[str, int]] = {}
    rows = (
        Strategy.objects.filter(status=Strategy.Status.ACTIVE)
        .values_list("underlying", "legs__expiry_type")
        .annotate(max_offset=Max("legs__expiry_offset"))
        .order_by()
    )
    for underlying, expiry_type, max_offset in rows:
        # A strategy without legs yet still gets the nearest expiries priced, for its builder's chain.
        expiry_type = expiry_type or Leg.ExpiryType.WEEKLY
        offsets = chains.setdefault(underlying, {})
        offsets[expiry_type] = max(offsets.get(expiry_type, 0), max_offset or 0)
    return QuoteDemand(chains=chains)


# --- the builder's indicative payoff ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _reference_data() -> dict[str, dict]:
    return {item["underlying"]: item for item in json.loads(DATA_FILE.read_text())["underlyings"]}


def payoff_market(*, underlying: str) -> dict:
    """Spot, strike step, lot size and IV for the indicative payoff, each with where it came from: the instrument
    master and the last index price when present, else the paper broker's reference data."""
    spec = underlying_specs([underlying])[underlying]
    reference = _reference_data().get(underlying, {})
    index_step = (
        Instrument.objects.filter(kind=Instrument.Kind.INDEX, underlying=underlying)
        .exclude(strike_step=None)
        .values_list("strike_step", flat=True)
        .first()
    )
    step = index_step or Decimal(str(reference.get("strike_step", "50")))
    return {
        "spot": spec.spot if spec.spot is not None else Decimal(str(reference.get("reference_spot", "0"))) or None,
        "spot_source": "last index price" if spec.spot is not None else "reference spot (no index price yet)",
        "step": step,
        "lot_size": spec.lot_size or reference.get("lot_size") or 1,
        "lot_size_source": "instrument master" if spec.lot_size else "reference data",
        "iv": Decimal(str(annual_volatility(underlying))) * 100,
    }


@dataclass(frozen=True)
class StrategyPayoff:
    """The indicative payoff of a strategy's enabled legs under the assumptions used (given or defaulted).
    `indicative`, `summary` and `chart` are empty when no leg is enabled or no spot is known."""

    market: dict
    spot: Decimal | None
    iv: Decimal  # percent
    days: Decimal
    indicative: list[payoff.IndicativeLeg] = field(default_factory=list)
    summary: payoff.PayoffSummary | None = None
    chart: payoff.Chart | None = None


def strategy_payoff(
    *, strategy: Strategy, legs: list[Leg], spot: Decimal | None = None, iv=None, days=None
) -> StrategyPayoff:
    """The payoff at expiry of `legs` (the strategy's, in leg order) with indicative strikes and premiums. An
    assumption left None defaults: spot and IV from `payoff_market`, days to expiry 7 with a weekly leg (or no
    leg), else 30."""
    market = payoff_market(underlying=strategy.underlying)
    spot = spot or market["spot"]
    iv = iv or market["iv"]
    default_days = 7 if any(leg.expiry_type == Leg.ExpiryType.WEEKLY for leg in legs) or not legs else 30
    days = days or Decimal(default_days)
    enabled = [leg for leg in legs if leg.enabled]
    if not enabled or not spot:
        return StrategyPayoff(market=market, spot=spot, iv=iv, days=days)
    indicative = payoff.indicative_legs(
        [
            payoff.LegInput(leg.leg_no, leg.transaction_type, leg.leg_type, leg.lots, leg.strike_selection_config)
            for leg in enabled
        ],
        spot=spot,
        step=market["step"],
        lot_size=int(market["lot_size"]),
        years=float(days) / 365,
        iv=float(iv) / 100,
        rate=RISK_FREE_RATE,
    )
    position = [item.payoff for item in indicative]
    summary = payoff.summarize(position)
    low, high = payoff.price_range(position, spot=spot)
    chart = payoff.chart(
        payoff.chart_points(position, low=low, high=high),
        spot=spot,
        breakevens=summary.breakevens,
        strikes=payoff.strikes(position),
    )
    return StrategyPayoff(
        market=market, spot=spot, iv=iv, days=days, indicative=indicative, summary=summary, chart=chart
    )
