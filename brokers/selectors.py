import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from market.calendar import EXCHANGE_TZ

from .models import Instrument, Quote


@dataclass(frozen=True)
class UnderlyingSpec:
    """What the lot arithmetic needs from the instrument master, for one underlying."""

    underlying: str
    lot_size: int | None  # of its nearest listed option contract; None when the master has none
    freeze_quantity: int | None
    spot: Decimal | None  # the index's last price; None when no quote has been seen


def underlying_specs(underlyings, *, on: dt.date | None = None) -> dict[str, UnderlyingSpec]:
    """Lot size, freeze quantity and spot per underlying, in one query whatever the count."""
    on = on or timezone.now().astimezone(EXCHANGE_TZ).date()
    nearest = Instrument.objects.filter(
        underlying=OuterRef("underlying"), kind=Instrument.Kind.OPTION, active=True, expiry__gte=on
    ).order_by("expiry", "id")
    rows = (
        Instrument.objects.filter(kind=Instrument.Kind.INDEX, underlying__in=set(underlyings))
        .annotate(
            option_lot_size=Subquery(nearest.values("lot_size")[:1]),
            option_freeze=Subquery(nearest.values("freeze_quantity")[:1]),
            spot=Subquery(Quote.objects.filter(instrument=OuterRef("pk")).values("ltp")[:1]),
        )
        .values("underlying", "option_lot_size", "option_freeze", "spot")
    )
    specs = {u: UnderlyingSpec(u, None, None, None) for u in underlyings}
    for row in rows:
        specs[row["underlying"]] = UnderlyingSpec(
            row["underlying"], row["option_lot_size"], row["option_freeze"], row["spot"]
        )
    return specs
