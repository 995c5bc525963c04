"""Strategy pages: the list, and the builder (strategy fields, legs edited inline, payoff at expiry).

Every form is validated by the API's serializers (StrategySerializer, LegSerializer), so a page shows the API's
messages next to the fields; writes go through strategies.services. Leg forms post with htmx and swap one leg;
without script they post the same URLs and get the whole builder back.
"""

import uuid
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from baskets.models import Basket
from config.exceptions import ConflictError, DomainError
from config.pages import (
    domain_errors,
    flatten_errors,
    form_int,
    form_text,
    hx_trigger,
    split_errors,
    without_none,
)

from . import selectors, services
from .api.serializers import LegSerializer, StrategySerializer
from .models import WEEKDAYS, Leg, Strategy, Underlying
from .rules import METHOD_PARAMETER

STRATEGY_FIELDS = (
    "strategy_name",
    "description",
    "basket_id",
    "underlying",
    "product",
    "category",
    "status",
    "entry_time",
    "exit_time",
    "entry_days",
    "exit_days",
    "on_failed_entry",
)
LEG_FIELDS = (
    "leg_no",
    "lots",
    "transaction_type",
    "leg_type",
    "method",
    "parameter",
    "expiry_type",
    "expiry_offset",
    "order_type",
    "stop_loss",
    "category",
    "entry_slippage",
    "exit_slippage",
    "entry_max_slippage",
    "exit_max_slippage",
    "chase_after_seconds",
    "chase_max_modifies",
    "market_protection_pct",
    "enabled",
)
# The serializer's error keys as the leg form names its inputs.
LEG_ERROR_ALIASES = {
    "entry_by": "method",
    "strike_selection_config__method": "method",
    "strike_selection_config": "parameter",
    "strike_selection_config__non_field_errors": "parameter",
    **{f"strike_selection_config__{name}": "parameter" for name in METHOD_PARAMETER.values()},
}
LEGS_CHANGED = "legs-changed"


def _strategy(request, strategy_id) -> Strategy:
    return get_object_or_404(Strategy, owner=request.user, pk=strategy_id)


def _choices() -> dict:
    return {
        "weekdays": WEEKDAYS,
        "underlyings": Underlying.choices,
        "products": Strategy.Product.choices,
        "categories": Strategy.Category.choices,
        "failed_entry_choices": Strategy.OnFailedEntry.choices,
        "statuses": [(s, s) for s in (Strategy.Status.ACTIVE, Strategy.Status.PAUSED)],
        "sides": Leg.TransactionType.choices,
        "leg_types": Leg.LegType.choices,
        "methods": [
            ("ATM_OFFSET", "ATM offset (strikes)"),
            ("STRIKE_DISTANCE", "Distance (points)"),
            ("DELTA", "Delta"),
        ],
        "expiry_types": Leg.ExpiryType.choices,
        "order_types": Leg.OrderType.choices,
        "leg_categories": [("", "—"), *Leg.Category.choices],
    }


# --- the strategy form ---------------------------------------------------------------------------------------


def _strategy_values(strategy: Strategy | None, basket_id=None) -> dict:
    if strategy is None:
        return {
            "basket_id": str(basket_id or ""),
            "underlying": Underlying.NIFTY,
            "product": Strategy.Product.NRML,
            "category": Strategy.Category.INCOME,
            "entry_time": "09:30",
            "exit_time": "15:15",
            "entry_days": [],
            "exit_days": [],
            "on_failed_entry": Strategy.OnFailedEntry.UNWIND,
        }
    return {
        "strategy_name": strategy.strategy_name,
        "description": strategy.description,
        "basket_id": str(strategy.basket_id or ""),
        "underlying": strategy.underlying,
        "product": strategy.product,
        "category": strategy.category,
        "status": strategy.status,
        "entry_time": f"{strategy.entry_time:%H:%M}",
        "exit_time": f"{strategy.exit_time:%H:%M}",
        "entry_days": list(strategy.entry_days),
        "exit_days": list(strategy.exit_days),
        "on_failed_entry": strategy.on_failed_entry,
    }


def _strategy_submission(request, strategy: Strategy | None):
    """(values as typed, data for StrategySerializer). Empty inputs are left out so that the API's
    "This field is required." reads as such; an intraday strategy without exit days exits on its entry days."""
    post = request.POST
    values = {name: post.get(name, "") for name in STRATEGY_FIELDS}
    values["entry_days"] = post.getlist("entry_days")
    values["exit_days"] = post.getlist("exit_days")
    data = {
        "strategy_name": form_text(values["strategy_name"]),
        "description": values["description"].strip(),
        "basket_id": form_text(values["basket_id"]) or None,
        "underlying": form_text(values["underlying"]),
        "product": form_text(values["product"]),
        "category": form_text(values["category"]),
        "status": form_text(values["status"]) if strategy else None,
        "entry_time": form_text(values["entry_time"]),
        "exit_time": form_text(values["exit_time"]),
        "entry_days": values["entry_days"] or ([] if strategy else None),
        "exit_days": values["exit_days"] or None,
        "on_failed_entry": form_text(values["on_failed_entry"]),
    }
    if data["exit_days"] is None:
        if data["product"] == Strategy.Product.MIS and values["entry_days"]:
            data["exit_days"] = values["entry_days"]
        elif strategy is not None:
            data["exit_days"] = []
    basket_id = data.pop("basket_id")
    data = without_none(data)
    data["basket_id"] = basket_id
    return values, data


def _save_strategy(request, strategy: Strategy | None):
    """(strategy, None) when saved, or (None, (values, errors))."""
    values, data = _strategy_submission(request, strategy)
    serializer = StrategySerializer(strategy, data=data)
    if not serializer.is_valid():
        return None, (values, flatten_errors(serializer.errors))
    fields = dict(serializer.validated_data)
    basket_id = fields.pop("basket_id", None)
    basket = None
    if basket_id:
        basket = Basket.objects.filter(owner=request.user, pk=basket_id).first()
        if basket is None:
            return None, (values, {"basket_id": ["Basket not found."]})
    try:
        if strategy is None:
            strategy = services.strategy_create(owner=request.user, basket=basket, **fields)
        else:
            strategy = services.strategy_update(strategy=strategy, basket=basket, **fields)
    except DomainError as exc:
        return None, (values, domain_errors(exc))
    return strategy, None


# --- leg forms -----------------------------------------------------------------------------------------------


def _leg_values(leg: Leg) -> dict:
    config = leg.strike_selection_config or {}
    method = config.get("method") or leg.entry_by
    parameter = config.get(METHOD_PARAMETER.get(method, ""), "")
    return {
        "leg_no": leg.leg_no,
        "lots": leg.lots,
        "transaction_type": leg.transaction_type,
        "leg_type": leg.leg_type,
        "method": method,
        "parameter": "" if parameter is None else _plain(parameter),
        "expiry_type": leg.expiry_type,
        "expiry_offset": leg.expiry_offset,
        "order_type": leg.order_type,
        "stop_loss": "" if leg.stop_loss is None else _plain(leg.stop_loss),
        "category": leg.category,
        "entry_slippage": _plain(leg.entry_slippage),
        "exit_slippage": _plain(leg.exit_slippage),
        "entry_max_slippage": _plain(leg.entry_max_slippage),
        "exit_max_slippage": _plain(leg.exit_max_slippage),
        "chase_after_seconds": leg.chase_after_seconds,
        "chase_max_modifies": leg.chase_max_modifies,
        "market_protection_pct": _plain(leg.market_protection_pct),
        "enabled": leg.enabled,
    }


def _plain(value) -> str:
    """A number as a trader types it: 50 not 50.00, 0.2 not 0.20."""
    if isinstance(value, Decimal | float):
        text = f"{Decimal(str(value)).normalize():f}"
        return text
    return str(value)


def _new_leg_values(strategy: Strategy) -> dict:
    numbers = list(strategy.legs.values_list("leg_no", flat=True))
    return {
        "leg_no": max(numbers, default=0) + 1,
        "lots": 1,
        "transaction_type": "SELL",
        "leg_type": "PUT",
        "method": "ATM_OFFSET",
        "parameter": "0",
        "expiry_type": "WEEKLY",
        "expiry_offset": 0,
        "order_type": "MARKET",
        "stop_loss": "",
        "category": "",
        "chase_after_seconds": 5,
        "chase_max_modifies": 2,
        "market_protection_pct": "2",
        "enabled": True,
    }


def _leg_submission(request, *, leg_no=None):
    """(values as typed, data for LegSerializer). A blank strike parameter sends entry_by alone, so the API's
    documented default applies and comes back as a warning."""
    post = request.POST
    values = {name: post.get(name, "") for name in LEG_FIELDS}
    values["enabled"] = post.get("enabled") in ("on", "true", "1")
    if leg_no is not None:
        values["leg_no"] = leg_no
    method = form_text(values["method"])
    parameter = form_text(values["parameter"])
    data = without_none(
        {
            "leg_no": leg_no if leg_no is not None else form_int(values["leg_no"]),
            "lots": form_int(values["lots"]),
            "transaction_type": form_text(values["transaction_type"]),
            "leg_type": form_text(values["leg_type"]),
            "expiry_type": form_text(values["expiry_type"]),
            "expiry_offset": form_int(values["expiry_offset"]),
            "order_type": form_text(values["order_type"]),
            "category": values["category"].strip(),
            "entry_slippage": form_text(values["entry_slippage"]),
            "exit_slippage": form_text(values["exit_slippage"]),
            "entry_max_slippage": form_text(values["entry_max_slippage"]),
            "exit_max_slippage": form_text(values["exit_max_slippage"]),
            "chase_after_seconds": form_int(values["chase_after_seconds"]),
            "chase_max_modifies": form_int(values["chase_max_modifies"]),
            "market_protection_pct": form_text(values["market_protection_pct"]),
            "enabled": values["enabled"],
        }
    )
    data["stop_loss"] = form_text(values["stop_loss"])
    if method in METHOD_PARAMETER and parameter is not None:
        value = form_int(parameter) if method == "ATM_OFFSET" else parameter
        data["strike_selection_config"] = {"method": method, METHOD_PARAMETER[method]: value}
    elif method is not None:
        data["entry_by"] = method
    return values, data


STRIKE_LABELS = {"DELTA": "delta", "STRIKE_DISTANCE": "distance from ATM", "ATM_OFFSET": "ATM offset"}


def _trader_warnings(serializer, leg) -> list[str]:
    """The API's warnings in a trader's words: a blank strike parameter names the default the leg now uses."""
    notes = []
    for warning in serializer.warnings:
        if "no strike_selection_config given" in warning:
            method = leg.strike_selection_config.get("method", leg.entry_by)
            value = leg.strike_selection_config.get(METHOD_PARAMETER.get(method, ""), "")
            notes.append(
                f"Leg {leg.leg_no}: the strike parameter was blank, so it uses the default "
                f"{STRIKE_LABELS.get(method, method.lower())} {value}."
            )
        else:
            notes.append(warning)
    return notes


def _leg_state(values, errors=None, warnings=None) -> dict:
    by_field, others = split_errors(errors or {}, LEG_FIELDS, LEG_ERROR_ALIASES)
    return {"values": values, "errors": by_field, "other_errors": others, "warnings": warnings or []}


# --- indicative payoff ---------------------------------------------------------------------------------------


def _decimal_param(raw, *, low, high, label, errors):
    if raw in (None, ""):
        return None
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        errors.append(f"{label}: enter a number.")
        return None
    if not value.is_finite() or not (low < value <= high):
        errors.append(f"{label}: must be above {low} and at most {high}.")
        return None
    return value


def _payoff_context(strategy: Strategy, legs: list[Leg], params) -> dict:
    """The builder's payoff panel: the assumptions typed (checked here), the rest from `strategy_payoff`."""
    errors: list[str] = []
    result = selectors.strategy_payoff(
        strategy=strategy,
        legs=legs,
        spot=_decimal_param(params.get("spot"), low=0, high=10_000_000, label="Spot", errors=errors),
        iv=_decimal_param(params.get("iv"), low=0, high=300, label="IV", errors=errors),
        days=_decimal_param(params.get("days"), low=0, high=400, label="Days", errors=errors),
    )
    context = {
        "market": result.market,
        "assumptions": {
            "spot": params.get("spot") or (_plain(result.spot) if result.spot else ""),
            "iv": params.get("iv") or _plain(result.iv.quantize(Decimal("0.1"))),
            "days": params.get("days") or _plain(result.days),
        },
        "assumption_errors": errors,
        "payoff_url": reverse("strategies:payoff", args=[strategy.pk]),
    }
    if result.chart is None:
        return context
    context.update(
        indicative={item.leg_no: item for item in result.indicative},
        indicative_list=result.indicative,
        summary=result.summary,
        chart=result.chart,
    )
    return context


# --- pages ---------------------------------------------------------------------------------------------------


@login_required
def strategy_list(request):
    show_archived = request.GET.get("status") == Strategy.Status.ARCHIVED
    strategies = selectors.strategies_for(owner=request.user)
    strategies = (
        strategies.filter(status=Strategy.Status.ARCHIVED)
        if show_archived
        else strategies.exclude(status=Strategy.Status.ARCHIVED)
    )
    context = {"strategies": strategies.order_by("strategy_name"), "show_archived": show_archived}
    return render(request, "strategies/strategy_list.html", context)


def _strategy_form_state(values, errors=None) -> dict:
    by_field, others = split_errors(errors or {}, STRATEGY_FIELDS)
    return {"values": values, "errors": by_field, "other_errors": others, "has_errors": bool(errors)}


@login_required
def strategy_create(request):
    baskets = Basket.objects.filter(owner=request.user).order_by("basket_name")
    if request.method == "POST":
        strategy, failure = _save_strategy(request, None)
        if strategy is not None:
            messages.success(request, f"Strategy “{strategy.strategy_name}” created. Now add its legs.")
            return redirect("strategies:detail", strategy_id=strategy.pk)
        state, status = _strategy_form_state(*failure), 400
    else:
        basket_id = request.GET.get("basket")
        basket = baskets.filter(pk=basket_id).first() if basket_id and _is_uuid(basket_id) else None
        state, status = _strategy_form_state(_strategy_values(None, basket.pk if basket else None)), 200
    context = {"strategy": None, "form": state, "baskets": baskets, **_choices()}
    return render(request, "strategies/strategy_create.html", context, status=status)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _builder(request, strategy: Strategy, *, form=None, leg_states=None, add_state=None, status=200):
    legs = list(strategy.legs.order_by("leg_no"))
    payoff_context = _payoff_context(strategy, legs, request.GET)
    leg_states = leg_states or {}
    indicative = payoff_context.get("indicative", {})
    rows = [
        {
            "leg": leg,
            **leg_states.get(leg.leg_no, _leg_state(_leg_values(leg))),
            "indicative": indicative.get(leg.leg_no),
        }
        for leg in legs
    ]
    context = {
        "strategy": strategy,
        "form": form or _strategy_form_state(_strategy_values(strategy)),
        "baskets": Basket.objects.filter(owner=request.user).order_by("basket_name"),
        "rows": rows,
        "add": add_state or _leg_state(_new_leg_values(strategy)),
        **payoff_context,
        **_choices(),
    }
    return render(request, "strategies/strategy_builder.html", context, status=status)


@login_required
def strategy_detail(request, strategy_id):
    """The builder: GET shows it; POST saves the strategy's own fields (legs post to their own URLs)."""
    strategy = _strategy(request, strategy_id)
    if request.method == "POST":
        saved, failure = _save_strategy(request, strategy)
        if saved is not None:
            messages.success(request, "Strategy saved.")
            return redirect("strategies:detail", strategy_id=strategy.pk)
        strategy.refresh_from_db()
        return _builder(request, strategy, form=_strategy_form_state(*failure), status=400)
    return _builder(request, strategy)


@login_required
@require_POST
def strategy_delete(request, strategy_id):
    strategy = _strategy(request, strategy_id)
    try:
        archived = services.strategy_delete(strategy=strategy)
    except ConflictError as exc:
        messages.error(request, exc.message)
        return _redirect(request, reverse("strategies:detail", args=[strategy.pk]))
    if archived is None:
        messages.success(request, f"Strategy “{strategy.strategy_name}” deleted.")
    else:
        messages.success(request, f"Strategy “{strategy.strategy_name}” archived: it has trading history, kept.")
    return _redirect(request, reverse("strategies:list"))


def _redirect(request, url):
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@login_required
def payoff_partial(request, strategy_id):
    strategy = _strategy(request, strategy_id)
    legs = list(strategy.legs.order_by("leg_no"))
    return render(
        request, "strategies/_payoff.html", {"strategy": strategy, **_payoff_context(strategy, legs, request.GET)}
    )


@login_required
@require_POST
def leg_add(request, strategy_id):
    strategy = _strategy(request, strategy_id)
    values, data = _leg_submission(request)
    serializer = LegSerializer(data=data, strategy=strategy)
    errors, leg = {}, None
    if serializer.is_valid():
        try:
            leg = services.legs_create(strategy=strategy, legs=[serializer.validated_data])[0]
        except DomainError as exc:
            errors = domain_errors(exc)
            # legs_create keys its errors by the item's index: this form posts one item.
            errors = {key.removeprefix("legs__0__"): messages_ for key, messages_ in errors.items()}
    else:
        errors = flatten_errors(serializer.errors)
    if leg is None:
        state = _leg_state(values, errors)
        if request.htmx:
            context = {"strategy": strategy, "add": state, **_choices()}
            return render(request, "strategies/_leg_add.html", context, status=400)
        return _builder(request, strategy, add_state=state, status=400)
    if not request.htmx:
        for warning in _trader_warnings(serializer, leg):
            messages.warning(request, warning)
        messages.success(request, f"Leg {leg.leg_no} added.")
        return redirect(reverse("strategies:detail", args=[strategy.pk]) + "#legs")
    leg.strategy = strategy
    context = {
        "strategy": strategy,
        "add": _leg_state(_new_leg_values(strategy), warnings=_trader_warnings(serializer, leg)),
        "added": {"leg": leg, **_leg_state(_leg_values(leg), warnings=[f"Leg {leg.leg_no} added."])},
        **_choices(),
    }
    return hx_trigger(render(request, "strategies/_leg_added.html", context), LEGS_CHANGED)


def _leg(strategy, leg_no) -> Leg:
    return get_object_or_404(Leg, strategy=strategy, leg_no=leg_no)


@login_required
@require_POST
def leg_update(request, strategy_id, leg_no):
    strategy = _strategy(request, strategy_id)
    leg = _leg(strategy, leg_no)
    values, data = _leg_submission(request, leg_no=leg.leg_no)
    serializer = LegSerializer(leg, data=data, strategy=strategy)
    errors = {}
    if serializer.is_valid():
        try:
            leg = services.leg_update(leg=leg, **serializer.validated_data)
        except DomainError as exc:
            errors = domain_errors(exc)
    else:
        errors = flatten_errors(serializer.errors)
    if errors:
        leg.refresh_from_db()
        state = _leg_state(values, errors)
        if request.htmx:
            context = {"strategy": strategy, "row": {"leg": leg, **state}, **_choices()}
            return render(request, "strategies/_leg.html", context, status=400)
        return _builder(request, strategy, leg_states={leg.leg_no: state}, status=400)
    if not request.htmx:
        for warning in _trader_warnings(serializer, leg):
            messages.warning(request, warning)
        messages.success(request, f"Leg {leg.leg_no} saved.")
        return redirect(reverse("strategies:detail", args=[strategy.pk]) + "#legs")
    leg.strategy = strategy
    notes = [*_trader_warnings(serializer, leg), f"Leg {leg.leg_no} saved."]
    context = {"strategy": strategy, "row": {"leg": leg, **_leg_state(_leg_values(leg), warnings=notes)}, **_choices()}
    return hx_trigger(render(request, "strategies/_leg.html", context), LEGS_CHANGED)


@login_required
@require_POST
def leg_delete(request, strategy_id, leg_no):
    strategy = _strategy(request, strategy_id)
    leg = _leg(strategy, leg_no)
    try:
        services.leg_delete(leg=leg)
    except DomainError as exc:
        if request.htmx:
            state = _leg_state(_leg_values(leg), domain_errors(exc))
            context = {"strategy": strategy, "row": {"leg": leg, **state}, **_choices()}
            return render(request, "strategies/_leg.html", context, status=409)
        messages.error(request, exc.message)
        return redirect(reverse("strategies:detail", args=[strategy.pk]) + "#legs")
    if request.htmx:
        return hx_trigger(HttpResponse(""), LEGS_CHANGED)
    messages.success(request, f"Leg {leg_no} removed.")
    return redirect(reverse("strategies:detail", args=[strategy.pk]) + "#legs")


@login_required
@require_POST
def leg_move(request, strategy_id, leg_no):
    """Reorder: swap a leg's number with the one before (direction=up) or after (direction=down) it."""
    strategy = _strategy(request, strategy_id)
    _leg(strategy, leg_no)
    direction = {"up": -1, "down": 1}.get(request.POST.get("direction"))
    if direction is None:
        messages.error(request, "Choose up or down.")
    else:
        new = services.leg_move(strategy=strategy, leg_no=leg_no, direction=direction)
        if new != leg_no:
            messages.success(request, f"Leg {leg_no} is now leg {new}.")
    if request.htmx:  # a redirect to the same page and hash would only scroll; reload it to show the new order
        return HttpResponseClientRefresh()
    return redirect(reverse("strategies:detail", args=[strategy.pk]) + "#legs")
