"""The Broker protocol and the registry of adapters by broker name. SDKs are imported only in adapters."""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol


class BrokerError(Exception):
    """A broker refused or failed. permanent=True means retrying the same request cannot succeed."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class BrokerTimeout(BrokerError):
    """No answer in time: the order may or may not exist at the broker. Never retried blindly; the tag is
    looked up (reconciliation) before anything is sent again."""


class SessionExpired(BrokerError):
    """The broker refused the account's session (expired, invalid or never made). Nothing reached the book, so
    the account is skipped with a session alert until it logs in again (Zerodha: the trader presses Connect
    Zerodha; Angel One: the platform logs in again from the stored TOTP secret)."""

    def __init__(self, message: str):
        super().__init__(message, permanent=True)


@dataclass(frozen=True)
class SessionHealth:
    ok: bool
    detail: str


@dataclass(frozen=True)
class OrderRequest:
    tag: str
    instrument_id: int
    exchange: str
    tradingsymbol: str
    side: str  # BUY | SELL
    quantity: int
    order_type: str  # MARKET | LIMIT
    limit_price: Decimal | None
    product: str  # NRML | MIS


@dataclass(frozen=True)
class FillReport:
    fill_id: str
    quantity: int
    price: Decimal
    at: dt.datetime


@dataclass(frozen=True)
class OrderResult:
    broker_order_id: str
    status: str  # OPEN | FILLED | PARTIAL | REJECTED | CANCELLED
    filled_quantity: int = 0
    average_price: Decimal | None = None
    message: str = ""
    fills: list[FillReport] = field(default_factory=list)
    tag: str = ""  # the platform's tag, echoed by the broker (orders_status rows carry it)
    quantity: int = 0  # the order's total quantity as the broker holds it (after a modify)
    limit_price: Decimal | None = None  # the working limit price as the broker holds it


class Broker(Protocol):
    name: str

    def check_session(self) -> SessionHealth: ...

    def place_order(self, request: OrderRequest) -> OrderResult:
        """Raises BrokerTimeout when the outcome is unknown, BrokerError when refused."""
        ...

    def place_orders(self, requests: list[OrderRequest]) -> list[OrderResult | BrokerError]:
        """Place several orders in list order; each answer is the result or the BrokerError (or BrokerTimeout)
        that order met. Never raises for one order's failure. `place_each` is the one-at-a-time default."""
        ...

    def available_funds(self) -> Decimal | None:
        """Margin available to the account (None when the broker does not say): the base of
        max_margin_utilization."""
        ...

    # Optional: `order_margin(requests) -> Decimal | None`, the broker's own margin for these orders placed
    # together (Zerodha: Kite's basket margins). An adapter without it is judged by brokers.margin's estimate.

    def find_order(self, tag: str) -> OrderResult | None:
        """The order carrying `tag`, or None when the broker has none (reconciliation)."""
        ...

    def open_positions(self) -> dict[int, int]:
        """Net quantity per instrument id as the broker sees the account (duplicate-order check)."""
        ...

    def orders_status(self) -> list[OrderResult]:
        """Every order of the account placed today, in one call, each with its tag, status, cumulative filled
        quantity, average price and the fills (each with the broker's fill/trade id) the broker reports. Used by
        order sync (at least every second while any order works) and by reconciliation."""
        ...

    def cancel_order(self, broker_order_id: str) -> OrderResult:
        """Cancel a working order. The answer is the order's state after the request (a fill that beat the
        cancel shows as FILLED/PARTIAL). Raises BrokerError when refused, BrokerTimeout when unknown."""
        ...

    def modify_order(
        self,
        broker_order_id: str,
        *,
        order_type: str | None = None,
        limit_price: Decimal | None = None,
        quantity: int | None = None,
    ) -> OrderResult:
        """Change a working order (the chase: a new limit at the touch, or MARKET with market protection).
        Unset arguments stay as they are. Raises BrokerError when refused, BrokerTimeout when unknown."""
        ...


def place_each(broker: Broker, requests: list[OrderRequest]) -> list[OrderResult | BrokerError]:
    """place_orders for a broker with no batch call: one order at a time, each failure kept with its order."""
    answers: list = []
    for request in requests:
        try:
            answers.append(broker.place_order(request))
        except BrokerError as exc:
            answers.append(exc)
    return answers


# The time.monotonic() instant by which the adapter call running in this thread must be answered (the engine's
# broker deadline). Past it the caller has given up and counts the call's orders UNKNOWN, so an adapter sends no
# further order request: one sent now could land after reconciliation judged it never placed.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("broker_deadline", default=None)


@contextmanager
def call_deadline(deadline: float):
    """Run an adapter call under `deadline` (a time.monotonic() instant); see seconds_left."""
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def seconds_left() -> float | None:
    """Seconds until the running call's deadline (negative once past), or None when it has none."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


_REGISTRY: dict[str, type] = {}


def register(name: str):
    def decorator(cls):
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorator


def adapter_for(account) -> Broker:
    """The adapter for a BrokerAccount (its credentials are decrypted only inside the adapter)."""
    from . import angelone, paper, zerodha  # noqa: F401  (each registers itself)

    try:
        cls = _REGISTRY[account.broker]
    except KeyError:
        raise BrokerError(f"no adapter is installed for broker {account.broker}", permanent=True) from None
    return cls(account)


# Credentials each live broker needs; the API refuses an account missing any of them.
REQUIRED_CREDENTIALS = {
    "PAPER": (),
    "ZERODHA": ("api_key", "api_secret"),
    "ANGELONE": ("api_key", "client_code", "pin", "totp_secret"),
}

# Keys an account of each broker may also hold (sessions, logins, algo registration). With REQUIRED_CREDENTIALS this
# is the whitelist: any other key is refused, so nothing unexpected is stored encrypted. Add a broker's keys here.
OPTIONAL_CREDENTIALS = {
    "PAPER": (),
    "ZERODHA": ("access_token", "refresh_token", "public_token", "user_id", "password", "totp_secret", "algo_id"),
    "ANGELONE": ("access_token", "refresh_token", "feed_token", "algo_id"),
}
# The stored credentials (as compact JSON) are capped at this size.
CREDENTIALS_MAX_BYTES = 4096


def credentials_errors(broker: str, credentials: dict) -> dict[str, list[str]]:
    """{key or "credentials": [message]} for credentials the broker cannot take; {} when they are fine."""
    allowed = (*REQUIRED_CREDENTIALS.get(broker, ()), *OPTIONAL_CREDENTIALS.get(broker, ()))
    errors = {
        key: [f"Not a {broker} credential; allowed: {', '.join(allowed) or 'none'}."]
        for key in sorted(credentials)
        if key not in allowed
    }
    size = len(json.dumps(credentials, separators=(",", ":")).encode())
    if size > CREDENTIALS_MAX_BYTES:
        errors["credentials"] = [f"Credentials are {size} bytes; at most {CREDENTIALS_MAX_BYTES} are stored."]
    return errors
