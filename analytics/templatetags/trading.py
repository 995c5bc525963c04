"""{% load trading %}: how a trader reads amounts and contracts on every page."""

from django import template

from config.pages import indian_grouping
from market.contracts import instrument_name

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


@register.filter
def contract(instrument):
    """An instrument as a trader reads it (the broker's tradingsymbol stays in the title attribute)."""
    return instrument_name(instrument)


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
