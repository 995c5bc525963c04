"""What the Zerodha and Angel One adapters share: each broker's symbol and token for a platform instrument, the
way back from a broker's symbol/token to the instrument, and the call wrapper that turns transport failures
into the platform's broker errors with rate limiting and 429 retries.

Instrument.broker_tokens[BROKER] is {"symbol": ..., "token": ...} (the instrument master writes it); a plain
string is read as the token with the platform's own tradingsymbol.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import requests
from django.conf import settings

from .. import ratelimit
from ..models import Instrument
from .base import BrokerError, BrokerTimeout, OrderRequest, OrderResult, seconds_left

log = logging.getLogger(__name__)
IST = ZoneInfo("Asia/Kolkata")


class RateLimited(Exception):
    """The broker answered 429: the request was not processed and may be sent again after a slot frees."""


def broker_symbol(instrument: Instrument, broker: str) -> tuple[str, str]:
    """(broker's tradingsymbol, broker's token) for an instrument; BrokerError when the master has none."""
    entry = (instrument.broker_tokens or {}).get(broker)
    if isinstance(entry, dict) and entry.get("symbol"):
        return entry["symbol"], str(entry.get("token", ""))
    if isinstance(entry, (str, int)) and str(entry):
        return instrument.tradingsymbol, str(entry)
    raise BrokerError(
        f"{instrument.exchange}:{instrument.tradingsymbol} has no {broker} symbol in the instrument master "
        f"(run load_instruments --broker {broker.lower()})",
        permanent=True,
    )


def symbols_for(requests_: list[OrderRequest], broker: str) -> dict[int, tuple[str, str] | BrokerError]:
    """Each request's instrument id -> (symbol, token), or the BrokerError saying why there is none (one query)."""
    instruments = Instrument.objects.in_bulk({r.instrument_id for r in requests_})
    out: dict = {}
    for instrument_id in {r.instrument_id for r in requests_}:
        instrument = instruments.get(instrument_id)
        if instrument is None:
            out[instrument_id] = BrokerError(f"instrument {instrument_id} does not exist", permanent=True)
            continue
        try:
            out[instrument_id] = broker_symbol(instrument, broker)
        except BrokerError as exc:
            out[instrument_id] = exc
    return out


def instrument_ids_for(broker: str, keys: list[tuple[str, str]], *, by: str = "token") -> dict[tuple[str, str], int]:
    """(exchange, broker token or symbol) -> instrument id, for the rows a broker reports (positions)."""
    values = {value for _, value in keys if value}
    if not values:
        return {}
    found: dict = {}
    rows = Instrument.objects.filter(exchange__in={e for e, _ in keys}).filter(
        **{f"broker_tokens__{broker}__{by}__in": list(values)}
    )
    for instrument in rows.only("id", "exchange", "broker_tokens", "tradingsymbol"):
        symbol, token = broker_symbol(instrument, broker)
        found[(instrument.exchange, token if by == "token" else symbol)] = instrument.pk
    return found


def decimal(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def as_int(value) -> int:
    try:
        return int(float(value or 0))
    except (TypeError, ValueError):
        return 0


def ist_datetime(value, *, today: dt.date | None = None) -> dt.datetime:
    """A broker timestamp (naive IST datetime, 'YYYY-MM-DD HH:MM:SS', 'DD-Mon-YYYY HH:MM:SS' or 'HH:MM:SS')."""
    from django.utils import timezone

    if isinstance(value, dt.datetime):
        moment = value
    else:
        text = str(value or "").strip()
        moment = None
        for fmt in ("%Y-%m-%d %H:%M:%S", "%d-%b-%Y %H:%M:%S"):
            try:
                moment = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if moment is None:
            try:
                clock = dt.datetime.strptime(text, "%H:%M:%S").time()
            except ValueError:
                return timezone.now()
            moment = dt.datetime.combine(today or timezone.now().astimezone(IST).date(), clock)
    return moment.replace(tzinfo=IST) if moment.tzinfo is None else moment


def _order_slot(account, what: str) -> None:
    """Take the account's next order slot, waiting no longer than the call's deadline; past the deadline the
    request is not sent (BrokerError): the engine has already counted it UNKNOWN and will look it up by tag."""
    left = seconds_left()
    if left is not None and left <= 0:
        raise BrokerError(f"{account.client_id}: {what}: not sent, the broker deadline passed")
    wait = settings.BROKER_RATE_LIMIT_WAIT if left is None else min(settings.BROKER_RATE_LIMIT_WAIT, left)
    ratelimit.order_slot(account, timeout=wait)
    left = seconds_left()
    if left is not None and left <= 0:
        raise BrokerError(f"{account.client_id}: {what}: not sent, the broker deadline passed while it waited")


def call(account, what: str, fn, *, order_call: bool, translate):
    """Run one SDK call for `account`.

    `translate(exc)` maps the SDK's own exceptions to a BrokerError or RateLimited (or returns None to re-raise).
    Order calls (place/modify/cancel) first take a rate-limit slot (within the engine's deadline for the call,
    else they are not sent); a 429 (not processed) waits for another
    slot and is sent again, up to BROKER_429_RETRIES times. A network error, a timeout or a 5xx is a
    BrokerTimeout: the request may have been processed, so it is never resent here."""
    attempts = settings.BROKER_429_RETRIES + 1
    for attempt in range(attempts):
        if order_call:
            _order_slot(account, what)
        try:
            return fn()
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise BrokerTimeout(
                f"{account.client_id}: {what}: no answer from the broker ({type(exc).__name__})"
            ) from exc
        except requests.RequestException as exc:
            raise BrokerTimeout(f"{account.client_id}: {what}: {type(exc).__name__}: {exc}") from exc
        except RateLimited:
            if attempt + 1 == attempts:
                raise BrokerError(
                    f"{account.client_id}: {what}: the broker kept answering 429 (too many requests); not sent"
                ) from None
            log.warning("%s: %s answered 429; waiting for a slot (attempt %s)", account.client_id, what, attempt + 1)
            time.sleep(0.2 * (attempt + 1))
        except BrokerError:
            raise
        except Exception as exc:
            mapped = translate(exc)
            if mapped is None:
                raise
            if isinstance(mapped, RateLimited):
                if attempt + 1 == attempts:
                    raise BrokerError(
                        f"{account.client_id}: {what}: the broker kept answering 429 (too many requests); not sent"
                    ) from None
                log.warning(
                    "%s: %s answered 429; waiting for a slot (attempt %s)", account.client_id, what, attempt + 1
                )
                time.sleep(0.2 * (attempt + 1))
                continue
            raise mapped from exc
    raise AssertionError("unreachable")


def placed_results(broker, requests_: list[OrderRequest], answers: list) -> list:
    """place_orders' answers in request order: each accepted order (its broker id, a str) as the broker's order
    book shows it after the batch (one orders_status call), or OPEN when the book cannot be read or does not list
    it yet; refused ones stay the BrokerError they met."""
    book = {}
    if any(isinstance(answer, str) for answer in answers):
        try:
            book = {result.broker_order_id: result for result in broker.orders_status()}
        except BrokerError:
            book = {}
    results: list = []
    for request, answer in zip(requests_, answers, strict=True):
        if isinstance(answer, str):
            answer = book.get(answer) or OrderResult(
                broker_order_id=answer, status="OPEN", tag=request.tag, quantity=request.quantity
            )
        results.append(answer)
    return results
