"""Trader pages for running strategies: dashboard, schedule, execution history and detail, positions.
Views validate, call one service or selector, and render; live parts refresh with htmx."""

import datetime as dt
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from brokers.models import BrokerAccount
from config.exceptions import ConflictError, DomainError
from market import calendar
from market import selectors as market_selectors
from market.contracts import instrument_name
from market.quotes import is_stale
from strategies.models import Strategy

from . import selectors
from .dispatch import execution_send
from .models import Alert, Execution, Order
from .services import killswitch, monitors, order_actions, schedule
from .services.alerts import alerts_acknowledge
from .services.orders import WORKING as WORKING_ORDERS


def _today():
    return timezone.now().astimezone(calendar.EXCHANGE_TZ).date()


def _book(user, **filters):
    """Position rows with last price, unrealized P&L, gross, estimated charges and net, and the same totals.
    Gross = realized + unrealized at the last price; net = gross − the estimated charges of the line's executed
    orders (`selectors.book_charges`). Unknown (None) while a held contract has no price, never shown as zero."""
    now = timezone.now()
    positions = list(
        selectors.positions_for(owner=user)
        .filter(**filters)
        .order_by("strategy__strategy_name", "broker_account__client_id", "instrument__tradingsymbol")
    )
    charges = selectors.book_charges(strategy_ids={p.strategy_id for p in positions}) if positions else {}
    rows, realized, unrealized, fees, known = [], Decimal(0), Decimal(0), Decimal(0), True
    for position in positions:
        quote = getattr(position.instrument, "quote", None)
        last = quote.ltp if quote else None
        stale = quote is None or is_stale(quote.updated_at, now)
        if not position.net_quantity:
            open_pnl = Decimal(0)
        elif last is None:
            open_pnl, known = None, False  # no price: unknown, never shown as zero
        else:
            open_pnl = (last - position.average_price) * position.net_quantity
        row = selectors.with_net(
            {
                "realized": position.realized_pnl,
                "unrealized": open_pnl,
                "charges": selectors.charges_of(charges, position),
            }
        )
        rows.append({**row, "position": position, "last": last, "stale": stale})
        realized += position.realized_pnl
        unrealized += open_pnl or 0
        fees += row["charges"]
    book = selectors.with_net({"realized": realized, "unrealized": unrealized if known else None, "charges": fees})
    return {**book, "rows": rows, "total": book["gross"]}


SCHEDULE_STATUS = {"SCHEDULED": "PLANNED", "IN_PROGRESS": "RUNNING"}


def _schedule_panel(user, now):
    """Today's items from 30 minutes ago on, with the status a trader reads: PLANNED until it runs, then
    RUNNING, then how it ended."""
    closed, items = schedule.schedule_for_day(owner=user, day=_today())
    rows = []
    for item in items:
        if item.due_at < now - dt.timedelta(minutes=30):
            continue
        status = item.execution.status if item.execution else "PLANNED"
        rows.append({**item.__dict__, "status": SCHEDULE_STATUS.get(status, status)})
    return {"upcoming": rows[:12], "closed": [exchange for exchange, shut in closed.items() if shut]}


def _market_panel(user, now):
    accounts = list(BrokerAccount.objects.filter(owner=user))
    return {
        "feed": monitors.feed_status(now=now),
        "accounts": accounts,
        "blocked": [account for account in accounts if account.entries_blocked],
    }


def _open_book(user):
    book = _book(user)
    book["rows"] = [row for row in book["rows"] if row["position"].net_quantity]  # closed rows leave
    return book


PANELS = {
    "alerts": lambda user, now: {"alerts": Alert.objects.filter(owner=user, acknowledged_at=None)[:10]},
    "schedule": _schedule_panel,
    "market": _market_panel,
    "working": lambda user, now: {
        "working": selectors.orders_for(owner=user)
        .filter(status__in=WORKING_ORDERS)
        .select_related("strategy")
        .order_by("-created_at")[:50]
    },
    "recent": lambda user, now: {"recent": _with_fills(selectors.executions_for(owner=user)).order_by("-due_at")[:8]},
}


@login_required
def dashboard(request):
    now = timezone.now()
    context = {"book": _open_book(request.user), "now": now}
    for panel in PANELS.values():
        context.update(panel(request.user, now))
    return render(request, "execution/dashboard.html", context)


@login_required
def dashboard_panel(request, name):
    """One dashboard panel (htmx refresh): alerts, schedule, market, working or recent."""
    if name not in PANELS:
        raise Http404
    context = PANELS[name](request.user, timezone.now())
    return render(request, f"execution/_dash_{name}.html", context)


@login_required
def live_positions(request):
    """The 1-second refresh of the open book (htmx partial)."""
    return render(request, "execution/_live_positions.html", {"book": _open_book(request.user), "now": timezone.now()})


# The page shows 7 days from `from` and links a week either side: dates whose arithmetic would overflow are refused.
_FIRST_START, _LAST_START = dt.date.min + dt.timedelta(days=7), dt.date.max - dt.timedelta(days=14)


@login_required
def schedule_page(request):
    status = 200
    try:
        start = dt.date.fromisoformat(request.GET["from"]) if request.GET.get("from") else _today()
    except ValueError:
        messages.error(request, "Use a date as YYYY-MM-DD.")
        start, status = _today(), 400
    if not _FIRST_START <= start <= _LAST_START:
        messages.error(request, f"Choose a date between {_FIRST_START.isoformat()} and {_LAST_START.isoformat()}.")
        start, status = _today(), 400
    horizons = market_selectors.horizons()
    days = []
    for offset in range(7):
        day = start + dt.timedelta(days=offset)
        closed, items = schedule.schedule_for_day(owner=request.user, day=day)
        confirmed = market_selectors.confirmed_on(day, horizons)
        days.append(
            {
                "day": day,
                "weekend": day.weekday() >= 5,
                "closed": [e for e, shut in closed.items() if shut],
                # Past the horizon a weekday trades as an ordinary one: its holidays are not known.
                "unconfirmed": [e for e, shut in closed.items() if not shut and not confirmed[e]],
                "items": [(item, not confirmed[schedule.exchange_for(item.underlying)]) for item in items],
            }
        )
    strategies = _with_paper(
        Strategy.objects.filter(owner=request.user, status=Strategy.Status.ACTIVE).order_by("strategy_name")
    )
    context = {
        "days": days,
        "horizons": horizons,
        "start": start,
        "strategies": strategies,
        "prev": start - dt.timedelta(days=7),
        "next": start + dt.timedelta(days=7),
    }
    return render(request, "execution/schedule.html", context, status=status)


def _next_url(request) -> str:
    """Where to go back to: the form's `next` only when it is a path on this site, else the schedule."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts=None, require_https=request.is_secure()):
        return target
    return reverse("execution:schedule")


@login_required
@require_POST
def manual_run(request):
    strategy_id = request.POST.get("strategy_id", "")
    if not _is_uuid(strategy_id):
        return HttpResponseBadRequest("strategy_id: not a strategy id.")
    strategy = get_object_or_404(Strategy, owner=request.user, pk=strategy_id)
    kind = request.POST.get("execution_type", "").upper()
    if kind not in ("ENTRY", "EXIT"):
        messages.error(request, "Choose entry or exit.")
        return redirect(_next_url(request))
    try:
        execution = schedule.execution_manual_create(
            strategy=strategy,
            execution_type=kind,
            force=request.POST.get("force") == "on",
            now=timezone.now(),
            send=execution_send,
        )
    except ConflictError as exc:
        messages.warning(request, f"{exc.message} Tick “Run again anyway” to place another one.")
        return redirect(_next_url(request))
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect(_next_url(request))
    messages.success(request, f"Manual {kind.lower()} of {strategy} started.")
    return redirect("execution:detail", execution_id=execution.pk)


def _with_fills(executions):
    """Each execution with filled_lots: Σ over its orders of filled quantity ÷ lot size (0 for a run that
    filled nothing, which the pages say instead of showing the planned lots)."""
    from django.db.models import F, Sum
    from django.db.models.functions import Coalesce

    return executions.annotate(
        filled_lots=Coalesce(Sum(F("orders__filled_quantity") / F("orders__instrument__lot_size")), 0)
    )


@login_required
def history(request):
    """Executions, filterable by strategy, status and date (IST); bad filters are a 400 naming them."""
    executions = selectors.executions_for(owner=request.user).order_by("-due_at")
    errors, selected = {}, {"strategy_id": "", "status": "", "date": ""}
    strategy_id = request.GET.get("strategy_id", "")
    if strategy_id:
        selected["strategy_id"] = strategy_id
        if _is_uuid(strategy_id):
            executions = executions.filter(strategy_id=strategy_id)
        else:
            errors["strategy_id"] = "Choose a strategy from the list."
    status = request.GET.get("status", "")
    if status:
        selected["status"] = status
        if status in Execution.Status.values:
            executions = executions.filter(status=status)
        else:
            errors["status"] = f"Choose one of {', '.join(Execution.Status.values)}."
    day = request.GET.get("date", "")
    if day:
        selected["date"] = day
        try:
            executions = executions.filter(execution_date=dt.date.fromisoformat(day))
        except ValueError:
            errors["date"] = "Use a date as YYYY-MM-DD."
    if errors:
        executions = executions.none()
    context = {
        "executions": _with_fills(executions)[:200],
        "errors": errors,
        "selected": selected,
        "strategies": Strategy.objects.filter(owner=request.user).order_by("strategy_name"),
        "statuses": Execution.Status.values,
    }
    return render(request, "execution/history.html", context, status=400 if errors else 200)


def _is_uuid(value):
    import uuid

    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


ACTIONABLE = (*WORKING_ORDERS, Order.Status.PENDING)  # orders a trader may cancel (PENDING: never sent)


def _detail_context(user, execution_id):
    execution = get_object_or_404(_with_fills(selectors.executions_for(owner=user)), pk=execution_id)
    orders = (
        Order.objects.filter(execution=execution)
        .select_related("broker_account", "instrument")
        .order_by("broker_account__client_id", "sequence")
    )
    timeline = selectors.order_timeline(orders)
    by_account = {}
    for order in orders:
        order.timeline = timeline[order.pk]
        by_account.setdefault(order.broker_account.client_id, []).append(order)
    brokers = []
    for broker in execution.execution_results.get("broker_executions", []):
        brokers.append({**broker, "orders": by_account.get(broker["client_id"], [])})
    return {
        "execution": execution,
        "brokers": brokers,
        "working": [order for order in orders if order.status in ACTIONABLE],
        "running": execution.status in ("SCHEDULED", "IN_PROGRESS", "WORKING"),
    }


@login_required
def detail(request, execution_id):
    template = "execution/_detail_body.html" if request.htmx else "execution/detail.html"
    return render(request, template, _detail_context(request.user, execution_id))


ORDER_ACTIONS = {
    "cancel": (order_actions.order_cancel, "Cancel sent for {name}: now {status}."),
    "to-market": (order_actions.order_to_market, "{name} sent to market: now {status}."),
}


@login_required
@require_POST
def order_action(request, order_id, action):
    """Cancel or go-to-market on one working order of the user's (another user's order: 404). htmx gets the
    message and the refreshed execution detail; a plain form post is redirected back to the detail."""
    order = get_object_or_404(selectors.orders_for(owner=request.user), pk=order_id)
    service, done = ORDER_ACTIONS[action]
    status, level = 200, messages.SUCCESS
    try:
        order = service(order, user=request.user)
        text = done.format(name=f"{order.side} {instrument_name(order.instrument)}", status=order.status)
    except order_actions.OrderActionError as exc:
        status, level, text = 409, messages.WARNING, str(exc.message)
    if not request.htmx:
        messages.add_message(request, level, text)
        back = request.POST.get("next", "")
        if back and url_has_allowed_host_and_scheme(back, allowed_hosts=None, require_https=request.is_secure()):
            return redirect(back)  # the dashboard's working orders panel comes back to the dashboard
        return redirect("execution:detail", execution_id=order.execution_id)
    context = {
        **_detail_context(request.user, order.execution_id),
        "action_message": text,
        "action_level": "success" if level == messages.SUCCESS else "warning",
    }
    return render(request, "execution/_order_action.html", context, status=status)


def _with_paper(strategies):
    """Each strategy with `paper`: every active allocation is on a paper account (the confirmation says so)."""
    from django.db.models import Exists, OuterRef

    from allocations.models import Allocation

    live = Allocation.objects.filter(strategy=OuterRef("pk"), status=Allocation.Status.ACTIVE).exclude(
        broker_account__broker="PAPER"
    )
    return strategies.annotate(live=Exists(live))


def _by_strategy(book: dict) -> list[dict]:
    """The book's rows grouped by strategy, each group with its realized, unrealized, gross, charges and net
    subtotals."""
    groups: dict = {}
    for row in book["rows"]:
        position = row["position"]
        group = groups.setdefault(
            position.strategy_id,
            {
                "strategy": position.strategy,
                "rows": [],
                "realized": Decimal(0),
                "unrealized": Decimal(0),
                "charges": Decimal(0),
                "open": 0,
                "paper": True,
            },
        )
        group["paper"] = group["paper"] and position.broker_account.broker == "PAPER"
        group["rows"].append(row)
        group["realized"] += position.realized_pnl
        group["charges"] += row["charges"]
        if group["unrealized"] is not None:
            group["unrealized"] = None if row["unrealized"] is None else group["unrealized"] + row["unrealized"]
        group["open"] += 1 if position.net_quantity else 0
    for group in groups.values():
        selectors.with_net(group)
        group["total"] = group["gross"]
    return list(groups.values())


@login_required
def positions(request):
    """Every strategy's own book with subtotals per strategy; live (htmx every 2 s); an exit per strategy."""
    strategy_id = request.GET.get("strategy_id")
    filters = {}
    if strategy_id:
        if not _is_uuid(strategy_id):  # never a silent fall-back to every strategy's book
            return HttpResponseBadRequest("strategy_id: not a strategy id.")
        filters["strategy_id"] = strategy_id
    if request.GET.get("client_id"):
        filters["broker_account__client_id"] = request.GET["client_id"]
    book = _book(request.user, **filters)
    context = {"book": book, "groups": _by_strategy(book), "now": timezone.now(), "query": request.GET.urlencode()}
    template = "execution/_positions_body.html" if request.htmx else "execution/positions.html"
    return render(request, template, context)


@login_required
@require_POST
def kill_switch(request):
    accounts = list(BrokerAccount.objects.filter(owner=request.user))
    client_id = request.POST.get("client_id")
    if client_id:
        accounts = [a for a in accounts if a.client_id == client_id]
        if not accounts:
            raise Http404
    if request.POST.get("action") == "release":
        killswitch.kill_switch_release(owner=request.user, accounts=accounts)
        messages.success(request, "Kill switch released: entries are allowed again.")
    else:
        exits = killswitch.kill_switch_engage(
            owner=request.user,
            accounts=accounts,
            flatten=request.POST.get("flatten") == "on",
            reason="engaged from the dashboard",
            now=timezone.now(),
            send=execution_send,
        )
        messages.warning(request, f"Kill switch engaged: entries blocked; {len(exits)} exit(s) started.")
    return redirect("execution:dashboard")


@login_required
@require_POST
def acknowledge_alert(request, alert_id):
    alert = get_object_or_404(Alert, owner=request.user, pk=alert_id)
    alerts_acknowledge(alerts=Alert.objects.filter(pk=alert.pk), now=timezone.now())
    return redirect("execution:dashboard")
