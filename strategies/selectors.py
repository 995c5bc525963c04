from django.db.models import Max, Prefetch, QuerySet

from market.feed import QuoteDemand

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
