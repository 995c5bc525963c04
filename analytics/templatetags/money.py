"""{% load money %}: amounts with Indian grouping (12,34,567.50) wherever a page shows rupees."""

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
