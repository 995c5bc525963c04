"""`{% calendar_readiness as message %}`: what ops must do about the holiday calendar today ("" if nothing)."""

from django import template
from django.utils import timezone

from market.calendar import EXCHANGE_TZ
from market.selectors import readiness_message

register = template.Library()


@register.simple_tag
def calendar_readiness() -> str:
    return readiness_message(timezone.now().astimezone(EXCHANGE_TZ).date())
