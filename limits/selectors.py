from decimal import Decimal

from django.conf import settings

from .models import AccountLimits, UserLimits
from .rules import NAMES, Limits

# The relations a caller select_related()s from an Allocation (or BrokerAccount, without the prefix) so that
# limits_for() runs no query.
ALLOCATION_RELATED = ("broker_account__trading_limits", "broker_account__owner__trading_limits")


def _row(obj, model):
    try:
        return obj.trading_limits
    except model.DoesNotExist:
        return None


def limits_for(account) -> Limits:
    """The effective limits of a broker account: its own value, else its owner's, else the default."""
    defaults = settings.TRADING_LIMITS
    rows = [_row(account, AccountLimits), _row(account.owner, UserLimits)]
    values = {}
    for name in NAMES:
        chosen = next((getattr(row, name) for row in rows if row is not None and getattr(row, name) is not None), None)
        values[name] = defaults[name] if chosen is None else chosen
    values["max_margin_percent"] = Decimal(str(values["max_margin_percent"]))
    return Limits(**values)
