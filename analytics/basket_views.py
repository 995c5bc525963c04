"""Basket pages: list, create, edit, delete (with the 409 refusal shown), and a basket's strategies with their P&L.

They live here, at the top, because they show the strategies in a basket and those strategies' books, which sit
above baskets; the basket itself is written through baskets.services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render

from baskets import services
from baskets.api.serializers import BasketSerializer
from baskets.models import Basket
from config.exceptions import ConflictError, DomainError
from config.pages import domain_errors, flatten_errors, form_amount, form_text, split_errors, without_none
from execution.selectors import pnl_sum, strategy_pnl
from strategies.models import Leg, Strategy

FIELDS = ("basket_name", "description", "initial_capital", "deployable_percentage", "status")


def _basket(request, basket_id) -> Basket:
    return get_object_or_404(Basket, owner=request.user, pk=basket_id)


@login_required
def basket_list(request):
    baskets = Basket.objects.filter(owner=request.user).annotate(
        strategy_count=Count("strategies", filter=~Q(strategies__status=Strategy.Status.ARCHIVED)),
        active_count=Count("strategies", filter=Q(strategies__status=Strategy.Status.ACTIVE)),
    )
    return render(request, "baskets/basket_list.html", {"baskets": baskets})


@login_required
def basket_detail(request, basket_id):
    basket = _basket(request, basket_id)
    strategies = (
        basket.strategies.exclude(status=Strategy.Status.ARCHIVED)
        .prefetch_related(Prefetch("legs", queryset=Leg.objects.order_by("leg_no")))
        .annotate(allocation_count=Count("allocations", distinct=True))
        .order_by("strategy_name")
    )
    strategies = list(strategies)
    pnl = strategy_pnl(strategy_ids=[strategy.pk for strategy in strategies])
    for strategy in strategies:
        strategy.pnl = pnl[strategy.pk]
    context = {"basket": basket, "strategies": strategies, "pnl": pnl_sum(pnl.values())}
    return render(request, "baskets/basket_detail.html", context)


def _form(request, *, basket, values, errors=None, status=200):
    by_field, others = split_errors(errors or {}, FIELDS)
    context = {
        "basket": basket,
        "values": values,
        "errors": by_field,
        "other_errors": others,
        "has_errors": bool(errors),
        "statuses": Basket.Status.choices,
    }
    return render(request, "baskets/basket_form.html", context, status=status)


def _save(request, basket: Basket | None):
    values = {name: request.POST.get(name, "") for name in FIELDS}
    data = without_none(
        {
            "basket_name": form_text(values["basket_name"]),
            "description": values["description"].strip(),
            "initial_capital": form_amount(values["initial_capital"]),
            "deployable_percentage": form_text(values["deployable_percentage"]),
            "status": form_text(values["status"]) if basket else None,
        }
    )
    serializer = BasketSerializer(basket, data=data)
    if serializer.is_valid():
        try:
            if basket is None:
                basket = services.basket_create(owner=request.user, **serializer.validated_data)
                messages.success(request, f"Basket “{basket.basket_name}” created.")
            else:
                basket = services.basket_update(basket=basket, **serializer.validated_data)
                messages.success(request, f"Basket “{basket.basket_name}” saved.")
            return redirect("baskets:detail", basket_id=basket.pk)
        except DomainError as exc:
            errors = domain_errors(exc)
    else:
        errors = flatten_errors(serializer.errors)
    return _form(request, basket=basket, values=values, errors=errors, status=400)


@login_required
def basket_create(request):
    if request.method == "POST":
        return _save(request, None)
    return _form(request, basket=None, values={"deployable_percentage": "100"})


@login_required
def basket_edit(request, basket_id):
    basket = _basket(request, basket_id)
    if request.method == "POST":
        return _save(request, basket)
    values = {name: getattr(basket, name) for name in FIELDS}
    return _form(request, basket=basket, values=values)


@login_required
def basket_delete(request, basket_id):
    basket = _basket(request, basket_id)
    active = basket.strategies.filter(status=Strategy.Status.ACTIVE).order_by("strategy_name")
    refusal = None
    if request.method == "POST":
        try:
            services.basket_delete(basket=basket)
        except ConflictError as exc:
            refusal = exc.message
        else:
            messages.success(request, f"Basket “{basket.basket_name}” deleted.")
            return redirect("baskets:list")
    context = {"basket": basket, "active": active, "refusal": refusal}
    return render(request, "baskets/basket_confirm_delete.html", context, status=409 if refusal else 200)
