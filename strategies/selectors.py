from django.db.models import Prefetch, QuerySet

from .models import Leg, Strategy


def strategies_for(*, owner) -> QuerySet[Strategy]:
    """The owner's strategies with their legs, in a fixed number of queries however many there are."""
    return (
        Strategy.objects.filter(owner=owner)
        .select_related("basket")
        .prefetch_related(Prefetch("legs", queryset=Leg.objects.order_by("leg_no")))
    )
