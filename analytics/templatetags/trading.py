"""{% load trading %}: how a trader reads amounts and contracts on every page."""

from django import template

from config.pages import indian_grouping

register = template.Library()


@register.filter
def inr(value, places=2):
    """12345678.5|inr → "1,23,45,678.50"; inr:0 drops the paise; None → "—"."""
    if value is None or value == "":
        return "—"
    try:
        return indian_grouping(value, int(places))
    except (TypeError, ValueError):
        return value


def contract_name(*, underlying: str, expiry, strike, option_type: str, fallback: str = "") -> str:
    """NIFTY 08 Dec 25,600 PE: underlying, expiry day and month, strike with Indian grouping, CE/PE."""
    if not (expiry and strike is not None and option_type):
        return fallback or underlying
    places = 0 if strike == int(strike) else 2
    return f"{underlying} {expiry:%d %b} {indian_grouping(strike, places)} {option_type}"


@register.filter
def contract(instrument):
    """An instrument as a trader reads it (the broker's tradingsymbol stays in the title attribute)."""
    if instrument is None:
        return "—"
    return contract_name(
        underlying=instrument.underlying,
        expiry=instrument.expiry,
        strike=instrument.strike,
        option_type=instrument.option_type,
        fallback=instrument.tradingsymbol,
    )


@register.filter
def pct(fraction, places=1):
    """0.1345|pct → "13.5" (a fraction shown as a percentage); None → "—"."""
    if fraction is None or fraction == "":
        return "—"
    return f"{float(fraction) * 100:.{int(places)}f}"


@register.filter
def get_item(mapping, key):
    """mapping|get_item:key: a dict value by a variable key ("" when absent)."""
    return (mapping or {}).get(key, "")
