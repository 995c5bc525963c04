"""The paper broker's margin model: a documented, conservative estimate, not an exchange SPAN file.

Per account and per side (CALL, PUT) of a strategy:
- short quantity covered by long quantity on the same side (a spread) needs HEDGED_PCT of notional;
- short quantity not covered needs SHORT_PCT of notional (SPAN + exposure margin, rounded up);
- long quantity needs its premium, estimated at LONG_PREMIUM_PCT of spot per unit.
notional = spot × quantity. With no spot known, the estimate is None (never a guess from a constant).
"""

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from django.conf import settings

SHORT_PCT = Decimal(str(getattr(settings, "PAPER_MARGIN_SHORT_PCT", "0.12")))
HEDGED_PCT = Decimal(str(getattr(settings, "PAPER_MARGIN_HEDGED_PCT", "0.03")))
LONG_PREMIUM_PCT = Decimal(str(getattr(settings, "PAPER_MARGIN_LONG_PREMIUM_PCT", "0.005")))

FORMULA = (
    "Per side (CALL/PUT): hedged short qty = min(short qty, long qty); margin = spot × (hedged short qty × "
    f"{HEDGED_PCT} + unhedged short qty × {SHORT_PCT}) + long qty × spot × {LONG_PREMIUM_PCT} (long premium). "
    "Rounded up to the rupee. null when the underlying has no spot price yet."
)


@dataclass(frozen=True)
class LegQuantity:
    leg_type: str  # CALL | PUT
    transaction_type: str  # BUY | SELL
    quantity: int


def estimate_margin(legs: list[LegQuantity], *, spot: Decimal | None) -> Decimal | None:
    if spot is None:
        return None
    total = Decimal(0)
    for side in ("CALL", "PUT"):
        short = sum(leg.quantity for leg in legs if leg.leg_type == side and leg.transaction_type == "SELL")
        long_ = sum(leg.quantity for leg in legs if leg.leg_type == side and leg.transaction_type == "BUY")
        hedged = min(short, long_)
        total += spot * (hedged * HEDGED_PCT + (short - hedged) * SHORT_PCT)
        total += spot * long_ * LONG_PREMIUM_PCT
    return total.to_integral_value(rounding=ROUND_CEILING)
