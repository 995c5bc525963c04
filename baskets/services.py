from django.db import transaction
from django.db.models import F

from .models import Basket
from .signals import basket_deleting


def basket_create(*, owner, **fields) -> Basket:
    """A new ACTIVE basket; current_capital starts at initial_capital."""
    fields.setdefault("current_capital", fields.get("initial_capital"))
    return Basket.objects.create(owner=owner, **fields)


def basket_update(*, basket: Basket, **changes) -> Basket:
    for key, value in changes.items():
        setattr(basket, key, value)
    basket.version = F("version") + 1
    basket.save()
    basket.refresh_from_db()
    return basket


@transaction.atomic
def basket_delete(*, basket: Basket) -> None:
    """Refused (409) while the basket holds ACTIVE strategies. Its paused or archived strategies are kept
    as standalone strategies, so nothing traded vanishes with the basket (both done by strategies, which
    receives `basket_deleting`)."""
    basket_deleting.send(sender=Basket, basket=basket)
    basket.delete()
