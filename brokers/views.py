"""Broker account pages: list with session status, add, edit (credentials write-only), session check, delete."""

import json
import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from config import jsontext
from config.exceptions import ConflictError, DomainError
from config.pages import domain_errors, flatten_errors, form_text, split_errors, without_none

from . import services
from .adapters.base import BrokerError
from .api.serializers import BrokerAccountSerializer
from .models import Broker, BrokerAccount
from .sessions import IST

FIELDS = ("client_id", "broker", "name", "credentials")


def _account(request, client_id) -> BrokerAccount:
    return get_object_or_404(BrokerAccount, owner=request.user, client_id=client_id)


def _credentials(text: str):
    """(dict or None, error or None): blank means "no change"; anything else must be a JSON object."""
    if not text.strip():
        return None, None
    try:
        value = jsontext.loads(text)
    except json.JSONDecodeError as exc:
        return None, f'Enter a JSON object, e.g. {{"api_key": "…"}}: {exc.msg} (line {exc.lineno}).'
    if not isinstance(value, dict):
        return None, 'Enter a JSON object, e.g. {"api_key": "…"}.'
    return value, None


def _render_form(request, *, account, values, errors=None, status=200):
    errors = errors or {}
    # A missing credential key ({"credentials": {"api_secret": [...]}}) is shown on the credentials textarea.
    for key in [key for key in errors if key.startswith("credentials__")]:
        name = key.removeprefix("credentials__")
        errors.setdefault("credentials", []).extend(f"{name}: {message}" for message in errors.pop(key))
    by_field, others = split_errors(errors, FIELDS)
    context = {
        "account": account,
        "values": values,
        "errors": by_field,
        "other_errors": others,
        "has_errors": bool(errors),
        "brokers": Broker.choices,
    }
    return render(request, "brokers/account_form.html", context, status=status)


@login_required
def account_list(request):
    accounts = BrokerAccount.objects.filter(owner=request.user).order_by("client_id")
    return render(request, "brokers/account_list.html", {"accounts": accounts})


def _save(request, account: BrokerAccount | None):
    """Validate with the API's serializer, then create or update through the service."""
    values = {
        "client_id": account.client_id if account else request.POST.get("client_id", "").strip(),
        "broker": request.POST.get("broker", ""),
        "name": request.POST.get("name", "").strip(),
    }
    credentials, credentials_error = _credentials(request.POST.get("credentials", ""))
    data = without_none(
        {
            "client_id": form_text(values["client_id"]),
            "broker": form_text(values["broker"]),
            "name": values["name"],
            "credentials": credentials,
        }
    )
    serializer = BrokerAccountSerializer(account, data=data)
    errors = {} if serializer.is_valid() else flatten_errors(serializer.errors)
    if credentials_error:
        errors["credentials"] = [credentials_error]
    if not errors:
        try:
            if account is None:
                account = services.broker_account_create(owner=request.user, **serializer.validated_data)
                messages.success(request, f"Broker account {account.client_id} added.")
            else:
                account = services.broker_account_update(account=account, **serializer.validated_data)
                messages.success(request, f"Broker account {account.client_id} saved.")
            return redirect("brokers:list")
        except DomainError as exc:
            errors = domain_errors(exc)
    # Credentials are write-only: never echoed back, even after a failed submit (the form says so).
    return _render_form(request, account=account, values=values, errors=errors, status=400)


@login_required
def account_create(request):
    if request.method == "POST":
        return _save(request, None)
    return _render_form(request, account=None, values={"broker": Broker.PAPER})


@login_required
def account_edit(request, client_id):
    account = _account(request, client_id)
    if request.method == "POST":
        return _save(request, account)
    values = {"client_id": account.client_id, "broker": account.broker, "name": account.name}
    return _render_form(request, account=account, values=values)


@login_required
@require_POST
def account_check(request, client_id):
    account = _account(request, client_id)
    health = services.broker_account_check(account=account)
    if request.htmx:
        return render(request, "brokers/_status.html", {"account": account, "health": health})
    if health.ok:
        messages.success(request, f"{account.client_id}: session OK. {health.detail}")
    else:
        messages.error(request, f"{account.client_id}: session check failed. {health.detail}")
    return redirect("brokers:list")


@login_required
@require_POST
def account_delete(request, client_id):
    account = _account(request, client_id)
    try:
        services.broker_account_delete(account=account)
    except ConflictError as exc:
        values = {"client_id": account.client_id, "broker": account.broker, "name": account.name}
        return _render_form(request, account=account, values=values, errors=domain_errors(exc), status=409)
    messages.success(request, f"Broker account {client_id} deleted.")
    return redirect("brokers:list")


@login_required
@require_POST
def zerodha_connect(request, client_id):
    """ "Connect Zerodha": off to Kite's login page; Kite comes back to zerodha_callback with a request_token."""
    account = _account(request, client_id)
    state = secrets.token_urlsafe(16)
    try:
        url = services.zerodha_login_url(account=account, state=state)
    except DomainError as exc:
        messages.error(request, f"{account.client_id}: {exc.message}")
        return redirect("brokers:list")
    request.session["kite_connect"] = {"state": state, "account": str(account.pk)}
    return redirect(url)


@login_required
def zerodha_callback(request):
    """Kite's redirect after the trader logged in: ?request_token=…&action=login&status=success&state=…"""
    pending = request.session.pop("kite_connect", None) or {}
    state = request.GET.get("state", "")
    if not pending or not state or not secrets.compare_digest(state, pending.get("state", "")):
        messages.error(request, "This Kite login was not started from this page; press Connect Zerodha again.")
        return redirect("brokers:list")
    account = get_object_or_404(BrokerAccount, pk=pending["account"], owner=request.user)
    if request.GET.get("status") != "success":
        messages.error(
            request, f"{account.client_id}: Kite reports the login as {request.GET.get('status') or 'unfinished'}."
        )
        return redirect("brokers:list")
    try:
        account = services.zerodha_connect(account=account, request_token=request.GET.get("request_token", ""))
    except (BrokerError, DomainError) as exc:
        messages.error(request, f"{account.client_id}: Zerodha did not connect. {exc.message}")
        return redirect("brokers:list")
    messages.success(
        request,
        f"{account.client_id}: Zerodha connected until "
        f"{timezone.localtime(account.session_expires_at, IST):%d %b %H:%M} IST.",
    )
    return redirect("brokers:list")
