"""Angel One through the official smartapi-python SDK (module SmartApi), wrapped so it has no side effects.

The SDK, left alone, calls https://api.ipify.org from its class body when imported and creates ./logs/<date>/
with a log file on every SmartConnect(); its logger writes request headers (the bearer token) on errors. Here
the import runs with requests.get refused (its own try/except falls back to fixed addresses), the constructor
is replaced by one that only sets what requests need, and its logzero logger is silenced: the adapter reports
errors itself, without secrets.

Sessions: the platform logs in by itself (loginByPassword with client code, PIN and a TOTP from the stored
secret). A session lasts until the JWT's own `exp` claim (Angel One: 24-28 hours; see brokers/sessions.py);
within ANGEL_REFRESH_AHEAD of it the next call first renews the JWT with generateTokens, so an order burst never
meets the end of its session half-way; a session the broker ends sooner is refreshed when refused, and the
platform logs in again when the refresh is refused. Failures arrive as HTTP 200 with status false and an errorcode:
- AB1010/AB1011/AG8001/AG8002/AG8003 (session) -> refresh/login once, then SessionExpired;
- AB1019 or "exceeding access rate" (429) -> wait for a slot and resend;
- AB1004 ("Something went wrong") or an unreadable answer -> BrokerTimeout (outcome unknown, reconciled);
- anything else -> a permanent refusal with the broker's message.
Statuses arrive in lower case; an empty book is data null.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import pyotp
import requests
from django.conf import settings
from django.utils import timezone

from .. import sessions
from .base import (
    BrokerError,
    BrokerTimeout,
    FillReport,
    OrderRequest,
    OrderResult,
    SessionExpired,
    SessionHealth,
    register,
)
from .live import RateLimited, as_int, call, decimal, instrument_ids_for, ist_datetime, placed_results, symbols_for

log = logging.getLogger(__name__)
BROKER = "ANGELONE"
SESSION_CODES = {"AB1010", "AB1011", "AG8001", "AG8002", "AG8003"}
RATE_CODES = {"AB1019"}
UNKNOWN_CODES = {"AB1004"}
PRODUCTS = {"NRML": "CARRYFORWARD", "MIS": "INTRADAY"}
TERMINAL = {"complete": "FILLED", "rejected": "REJECTED", "cancelled": "CANCELLED"}
# A session this close to its JWT's exp is renewed before the next call rather than used to the last second.
ANGEL_REFRESH_AHEAD = dt.timedelta(minutes=10)


def _import_sdk():
    import logzero

    def refuse(*args, **kwargs):
        raise requests.ConnectionError("SmartApi's import-time IP lookup is disabled")

    # The SDK logs request headers, bearer token included. `disabled` alone does not last: any later
    # logging.config.dictConfig with disable_existing_loggers=False (Django's, a Celery worker's) turns it back
    # on; a level above CRITICAL survives that, so the logger stays silent whatever configures logging after.
    logzero.logger.disabled = True
    logzero.logger.setLevel(logging.CRITICAL + 1)
    real_get = requests.get
    requests.get = refuse
    try:
        from SmartApi import smartConnect, smartExceptions
    finally:
        requests.get = real_get
    return smartConnect.SmartConnect, smartExceptions


_SmartConnect, smart_errors = _import_sdk()


class SmartClient(_SmartConnect):
    """SmartConnect without the constructor's ./logs side effect; everything else is the SDK's."""

    def __init__(self, api_key: str, *, access_token=None, refresh_token=None, feed_token=None):
        self.debug = False
        self.api_key = api_key
        self.privateKey = api_key
        self.session_expiry_hook = None
        self.disable_ssl = False
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.feed_token = feed_token
        self.userId = None
        self.proxies = {}
        self.root = settings.SMARTAPI_ROOT or self._rootUrl
        self.timeout = settings.BROKER_HTTP_TIMEOUT
        self.Authorization = None
        self.clientPublicIp = self.clientPublicIP = settings.SMARTAPI_CLIENT_PUBLIC_IP
        self.clientLocalIp = self.clientLocalIP = "127.0.0.1"
        self.reqsession = requests


class AngelRefused(Exception):
    def __init__(self, response: dict):
        super().__init__(response.get("message") or "refused")
        self.code = str(response.get("errorcode") or "")
        self.response = response


def checked(response) -> dict:
    """The data of an answer, or AngelRefused with its errorcode."""
    if not isinstance(response, dict):
        raise smart_errors.DataException(f"unexpected answer {response!r}")
    if response.get("status") is False or response.get("success") is False:
        raise AngelRefused(response)
    return response.get("data")


def status_of(row: dict) -> str:
    status = TERMINAL.get(str(row.get("status") or row.get("orderstatus") or "").lower())
    if status:
        return status
    return "PARTIAL" if as_int(row.get("filledshares")) else "OPEN"


def _translate(account):
    def translate(exc):
        if isinstance(exc, AngelRefused):
            if exc.code in SESSION_CODES:
                return SessionExpired(f"{account.client_id}: Angel One session ended ({exc.code} {exc})")
            if exc.code in RATE_CODES or "exceeding access rate" in str(exc).lower():
                return RateLimited()
            if exc.code in UNKNOWN_CODES:
                return BrokerTimeout(f"{account.client_id}: Angel One answered {exc.code}: {exc}")
            return BrokerError(f"{account.client_id}: Angel One refused ({exc.code}): {exc}", permanent=True)
        if isinstance(exc, smart_errors.DataException):
            if "exceeding access rate" in str(exc).lower():
                return RateLimited()
            return BrokerTimeout(f"{account.client_id}: Angel One's answer was unreadable: {str(exc)[:200]}")
        if isinstance(exc, smart_errors.SmartAPIException):
            code = getattr(exc, "code", 500)
            if code == 429:
                return RateLimited()
            if code >= 500:
                return BrokerTimeout(f"{account.client_id}: Angel One answered {code}: {exc}")
            return BrokerError(f"{account.client_id}: Angel One refused: {exc}", permanent=True)
        return None

    return translate


@register(BROKER)
class AngelOneBroker:
    def __init__(self, account):
        self.account = account
        self._client = None

    # ---- sessions ----------------------------------------------------------------------------------------
    def login(self) -> SmartClient:
        """Log in from the stored TOTP secret (what the platform does each morning and after a refused
        refresh); stores the tokens encrypted. SessionExpired when Angel One refuses."""
        credentials = self.account.credentials
        client = SmartClient(credentials["api_key"])
        try:
            totp = pyotp.TOTP(credentials["totp_secret"]).now()
        except (ValueError, TypeError) as exc:  # not base32, or too short for pyotp
            detail = f"the stored TOTP secret cannot make codes ({exc}); paste the secret Angel One showed again"
            sessions.session_expire(account=self.account, detail=detail)
            raise SessionExpired(f"{self.account.client_id}: {detail}") from exc
        payload = {"clientcode": credentials["client_code"], "password": credentials["pin"], "totp": totp}
        try:
            data = self._raw_call("login", lambda: checked(client._postRequest("api.login", payload)))
        except BrokerError as exc:
            sessions.session_expire(account=self.account, detail=f"Angel One login failed: {exc.message}")
            raise SessionExpired(f"{self.account.client_id}: Angel One login failed: {exc.message}") from exc
        tokens = {
            "jwt": data["jwtToken"],
            "refresh": data["refreshToken"],
            "feed": data.get("feedToken", ""),
        }
        now = timezone.now()
        expires = sessions.angel_session_expiry(tokens["jwt"], at=now)
        sessions.session_save(account=self.account, tokens=tokens, at=now, expires_at=expires)
        self._client = SmartClient(credentials["api_key"], access_token=tokens["jwt"], refresh_token=tokens["refresh"])
        return self._client

    def refresh(self) -> SmartClient:
        """A new JWT from the refresh token (generateTokens); a full login when Angel One refuses it."""
        tokens = sessions.session_tokens(self.account)
        api_key = self.account.credentials["api_key"]
        if tokens.get("refresh"):
            client = SmartClient(api_key, access_token=tokens.get("jwt"))
            try:
                data = self._raw_call(
                    "refresh", lambda: checked(client._postRequest("api.token", {"refreshToken": tokens["refresh"]}))
                )
            except (BrokerTimeout, SessionExpired):
                raise
            except BrokerError:
                data = None
            if data and data.get("jwtToken"):
                fresh = {"jwt": data["jwtToken"], "refresh": data.get("refreshToken") or tokens["refresh"]}
                fresh["feed"] = data.get("feedToken", tokens.get("feed", ""))
                now = timezone.now()
                expires = sessions.angel_session_expiry(fresh["jwt"], at=now)
                sessions.session_save(account=self.account, tokens=fresh, at=now, expires_at=expires)
                self._client = SmartClient(api_key, access_token=fresh["jwt"], refresh_token=fresh["refresh"])
                return self._client
        return self.login()

    @property
    def client(self) -> SmartClient:
        if self._client is None:
            tokens = sessions.session_tokens(self.account)
            if not tokens.get("jwt"):
                return self.login()
            expires = self.account.session_expires_at
            if expires is not None and expires - timezone.now() <= ANGEL_REFRESH_AHEAD:
                try:
                    return self.refresh()
                except BrokerTimeout:  # no answer: the JWT still works for now; the next call tries again
                    log.warning("%s: renewing the Angel One session got no answer", self.account.client_id)
            self._client = SmartClient(
                self.account.credentials["api_key"], access_token=tokens["jwt"], refresh_token=tokens.get("refresh")
            )
        return self._client

    # ---- plumbing ----------------------------------------------------------------------------------------
    def _raw_call(self, what, fn, *, order_call=False):
        return call(self.account, what, fn, order_call=order_call, translate=_translate(self.account))

    def _call(self, what: str, method: str, *args, order_call: bool = False):
        """One SDK call; a refused session is refreshed (or logged in again) once and the call repeated:
        Angel One checks the session before it looks at the request, so nothing was processed."""
        try:
            return self._raw_call(what, lambda: checked(getattr(self.client, method)(*args)), order_call=order_call)
        except SessionExpired as first:
            log.info("%s: %s; refreshing the session", self.account.client_id, first.message)
            self._client = None
            try:
                self.refresh()
            except SessionExpired:
                raise
            except BrokerError as exc:
                raise SessionExpired(
                    f"{self.account.client_id}: Angel One session could not be renewed: {exc}"
                ) from exc
            try:
                return self._raw_call(what, lambda: checked(getattr(self.client, method)(*args)), order_call=order_call)
            except SessionExpired as second:
                sessions.session_expire(account=self.account, detail=second.message)
                raise

    def _result(self, row: dict, trades: list[dict]) -> OrderResult:
        fills = [
            FillReport(
                fill_id=str(t["fillid"]),
                quantity=as_int(t.get("fillsize")),
                price=decimal(t.get("fillprice")) or Decimal("0"),
                at=ist_datetime(t.get("filltime")),
            )
            for t in trades
        ]
        filled = as_int(row.get("filledshares"))
        return OrderResult(
            broker_order_id=str(row["orderid"]),
            status=status_of(row),
            filled_quantity=filled,
            average_price=decimal(row.get("averageprice")) if filled else None,
            message=row.get("text") or "",
            fills=fills,
            tag=row.get("ordertag") or "",
            quantity=as_int(row.get("quantity")),
            limit_price=decimal(row.get("price")) if row.get("ordertype") == "LIMIT" else None,
        )

    def _book(self) -> tuple[list[dict], dict[str, list[dict]]]:
        orders = self._call("order book", "orderBook") or []
        trades = (self._call("trade book", "tradeBook") or []) if orders else []
        by_order: dict[str, list] = {}
        for trade in trades:
            by_order.setdefault(str(trade["orderid"]), []).append(trade)
        return orders, by_order

    def _order(self, order_id: str) -> OrderResult:
        orders, trades = self._book()
        row = next((r for r in orders if str(r["orderid"]) == order_id), None)
        if row is None:
            raise BrokerError(f"Angel One has no order {order_id}", permanent=True)
        return self._result(row, trades.get(order_id, []))

    # ---- protocol ----------------------------------------------------------------------------------------
    def check_session(self) -> SessionHealth:
        try:
            profile = self._call("profile", "getProfile", sessions.session_tokens(self.account).get("refresh", ""))
        except BrokerError as exc:
            return SessionHealth(ok=False, detail=exc.message)
        return SessionHealth(ok=True, detail=f"Angel One session live for {(profile or {}).get('clientcode', '?')}")

    def available_funds(self) -> Decimal | None:
        return decimal((self._call("funds", "rmsLimit") or {}).get("net"))

    def _params(self, request: OrderRequest, symbol: str, token: str) -> dict:
        if len(request.tag) > 20:
            raise BrokerError(
                f"tag {request.tag!r} is longer than 20 characters (Angel One refuses it)", permanent=True
            )
        return {
            "variety": "NORMAL",
            "tradingsymbol": symbol,
            "symboltoken": token,
            "transactiontype": request.side,
            "exchange": request.exchange,
            "ordertype": request.order_type,
            "producttype": PRODUCTS.get(request.product, request.product),
            "duration": "DAY",
            "price": str(request.limit_price) if request.order_type == "LIMIT" else "0",
            "squareoff": "0",
            "stoploss": "0",
            "quantity": str(request.quantity),
            "ordertag": request.tag,
        }

    def _send(self, request: OrderRequest, found: tuple[str, str]) -> str:
        params = self._params(request, *found)
        data = self._call(f"place {request.tag}", "placeOrderFullResponse", params, order_call=True)
        return str(data["orderid"])

    def place_order(self, request: OrderRequest) -> OrderResult:
        found = symbols_for([request], BROKER)[request.instrument_id]
        if isinstance(found, BrokerError):
            raise found
        order_id = self._send(request, found)
        try:
            return self._order(order_id)
        except BrokerError:
            return OrderResult(broker_order_id=order_id, status="OPEN", tag=request.tag, quantity=request.quantity)

    def place_orders(self, requests_: list[OrderRequest]) -> list[OrderResult | BrokerError]:
        symbols = symbols_for(requests_, BROKER)
        answers: list = []
        for request in requests_:
            found = symbols[request.instrument_id]
            if isinstance(found, BrokerError):
                answers.append(found)
                continue
            try:
                answers.append(self._send(request, found))
            except SessionExpired as exc:
                answers.append(exc)
                answers.extend(exc for _ in requests_[len(answers) :])
                break
            except BrokerError as exc:
                answers.append(exc)
        return placed_results(self, requests_, answers)

    def orders_status(self) -> list[OrderResult]:
        orders, trades = self._book()
        return [self._result(row, trades.get(str(row["orderid"]), [])) for row in orders]

    def find_order(self, tag: str) -> OrderResult | None:
        return next((r for r in self.orders_status() if r.tag == tag), None)

    def open_positions(self) -> dict[int, int]:
        rows = self._call("positions", "position") or []
        keys = [(r["exchange"], str(r.get("symboltoken", ""))) for r in rows if as_int(r.get("netqty"))]
        ids = instrument_ids_for(BROKER, keys)
        net: dict[int, int] = {}
        for row in rows:
            quantity = as_int(row.get("netqty"))
            instrument_id = ids.get((row["exchange"], str(row.get("symboltoken", ""))))
            if quantity and instrument_id is not None:
                net[instrument_id] = net.get(instrument_id, 0) + quantity
        return {k: v for k, v in net.items() if v}

    def cancel_order(self, broker_order_id: str) -> OrderResult:
        try:
            self._call(f"cancel {broker_order_id}", "cancelOrder", broker_order_id, "NORMAL", order_call=True)
        except SessionExpired:
            raise
        except BrokerError as exc:
            if not exc.permanent:
                raise
            state = self._order(broker_order_id)
            if state.status in ("OPEN", "PARTIAL"):
                raise
            return state
        return self._order(broker_order_id)

    def modify_order(
        self,
        broker_order_id: str,
        *,
        order_type: str | None = None,
        limit_price: Decimal | None = None,
        quantity: int | None = None,
    ) -> OrderResult:
        """SmartAPI's modify restates the whole order, so the current one is read first."""
        orders, _ = self._book()
        row = next((r for r in orders if str(r["orderid"]) == broker_order_id), None)
        if row is None:
            raise BrokerError(f"Angel One has no order {broker_order_id}", permanent=True)
        new_type = order_type or row["ordertype"]
        price = limit_price if limit_price is not None else decimal(row.get("price"))
        params = {
            "variety": row.get("variety") or "NORMAL",
            "orderid": broker_order_id,
            "ordertype": new_type,
            "producttype": row["producttype"],
            "duration": row.get("duration") or "DAY",
            "price": "0" if new_type == "MARKET" else str(price),
            "quantity": str(quantity if quantity is not None else as_int(row.get("quantity"))),
            "tradingsymbol": row["tradingsymbol"],
            "symboltoken": row["symboltoken"],
            "exchange": row["exchange"],
        }
        self._call(f"modify {broker_order_id}", "modifyOrder", params, order_call=True)
        return self._order(broker_order_id)

    def ltp(self, exchange: str, symbol: str, token: str) -> Decimal | None:
        data = self._call("ltp", "ltpData", exchange, symbol, token) or {}
        return decimal(data.get("ltp"))
