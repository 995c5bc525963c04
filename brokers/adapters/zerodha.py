"""Zerodha through the official kiteconnect SDK (Kite Connect v3).

Sessions: the trader presses "Connect Zerodha" each morning (Kite tokens die at 06:00 IST); the callback trades
the request_token for an access token (generate_session), stored encrypted on the account. Orders carry the
platform's tag (at most 20 letters and digits), MARKET orders carry market protection, and every order carries
the account's SEBI algo id when it has one.

Errors: TokenException -> SessionExpired (the session is cleared and the account skipped until the next login);
InputException/OrderException/PermissionException -> a permanent refusal with Kite's message; an RMS rejection
(margin) is the order's REJECTED status with Kite's status_message; 429 -> wait for a slot and resend; any
network error, timeout, 5xx or unreadable answer -> BrokerTimeout (outcome unknown, reconciled by tag).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from kiteconnect import KiteConnect
from kiteconnect import exceptions as kite_errors

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

BROKER = "ZERODHA"
VARIETY = KiteConnect.VARIETY_REGULAR
TERMINAL = {"COMPLETE": "FILLED", "REJECTED": "REJECTED", "CANCELLED": "CANCELLED"}


def kite_client(*, api_key: str, access_token: str | None = None) -> KiteConnect:
    """A KiteConnect pointed at KITE_API_ROOT (the sandbox's fake) or Kite's production API."""
    return KiteConnect(
        api_key,
        access_token=access_token,
        root=settings.KITE_API_ROOT or None,
        timeout=settings.BROKER_HTTP_TIMEOUT,
    )


def login_url(account) -> str:
    """Where "Connect Zerodha" sends the trader (Kite's login page, or the sandbox fake's)."""
    url = kite_client(api_key=account.credentials["api_key"]).login_url()
    if settings.KITE_LOGIN_URL:
        url = url.replace(KiteConnect._default_login_uri, settings.KITE_LOGIN_URL)
    return url


def status_of(row: dict) -> str:
    """Kite's order status -> the platform's: anything not yet final is OPEN (PARTIAL once something filled)."""
    status = TERMINAL.get(row.get("status", ""))
    if status:
        return status
    return "PARTIAL" if as_int(row.get("filled_quantity")) else "OPEN"


def _translate(account):
    def translate(exc):
        code = getattr(exc, "code", 500)
        if isinstance(exc, kite_errors.TokenException):
            sessions.session_expire(account=account, detail=f"Kite refused the access token: {exc}")
            return SessionExpired(f"{account.client_id}: Zerodha session expired or invalid ({exc}); connect again")
        if code == 429:
            return RateLimited()
        if isinstance(exc, kite_errors.DataException) or code >= 500 or isinstance(exc, kite_errors.NetworkException):
            return BrokerTimeout(f"{account.client_id}: Kite answered {code}: {exc}")
        if isinstance(exc, kite_errors.KiteException):
            return BrokerError(f"{account.client_id}: Kite refused: {exc}", permanent=True)
        return None

    return translate


@register(BROKER)
class ZerodhaBroker:
    def __init__(self, account):
        self.account = account
        self._kite = None

    # ---- plumbing ----------------------------------------------------------------------------------------
    @property
    def kite(self) -> KiteConnect:
        if self._kite is None:
            token = sessions.session_tokens(self.account).get("access_token")
            if not token:
                raise SessionExpired(f"{self.account.client_id}: Zerodha is not connected today; press Connect Zerodha")
            self._kite = kite_client(api_key=self.account.credentials["api_key"], access_token=token)
        return self._kite

    def _call(self, what: str, fn, *, order_call: bool = False):
        return call(self.account, what, fn, order_call=order_call, translate=_translate(self.account))

    def _result(self, row: dict, trades: list[dict]) -> OrderResult:
        fills = [
            FillReport(
                fill_id=str(t["trade_id"]),
                quantity=as_int(t["quantity"]),
                price=decimal(t["average_price"]) or Decimal("0"),
                at=ist_datetime(t.get("fill_timestamp") or t.get("exchange_timestamp")),
            )
            for t in trades
        ]
        filled = as_int(row.get("filled_quantity"))
        return OrderResult(
            broker_order_id=str(row["order_id"]),
            status=status_of(row),
            filled_quantity=filled,
            average_price=decimal(row.get("average_price")) if filled else None,
            message=row.get("status_message") or "",
            fills=fills,
            tag=row.get("tag") or "",
            quantity=as_int(row.get("quantity")),
            limit_price=decimal(row.get("price")) if row.get("order_type") == "LIMIT" else None,
        )

    def _order(self, order_id: str) -> OrderResult:
        history = self._call("order history", lambda: self.kite.order_history(order_id))
        trades = self._call("order trades", lambda: self.kite.order_trades(order_id)) if history else []
        if not history:
            raise BrokerError(f"Kite has no order {order_id}", permanent=True)
        return self._result(history[-1], trades or [])

    # ---- protocol ----------------------------------------------------------------------------------------
    def check_session(self) -> SessionHealth:
        try:
            profile = self._call("profile", lambda: self.kite.profile())
        except SessionExpired as exc:
            return SessionHealth(ok=False, detail=exc.message)
        except BrokerError as exc:
            return SessionHealth(ok=False, detail=exc.message)
        return SessionHealth(ok=True, detail=f"Zerodha session live for {profile.get('user_id', '?')}")

    def available_funds(self) -> Decimal | None:
        margins = self._call("margins", lambda: self.kite.margins())
        return decimal((margins.get("equity") or {}).get("net"))

    def order_margin(self, requests: list[OrderRequest]) -> Decimal | None:
        """Kite's own margin for these orders placed together (POST /margins/basket, compact, the account's
        open positions considered): SPAN + exposure with the hedges' benefit, the figure Kite's RMS checks."""
        symbols = symbols_for(requests, BROKER)
        basket = []
        for request in requests:
            found = symbols[request.instrument_id]
            if isinstance(found, BrokerError):
                raise found
            basket.append(
                {
                    "exchange": request.exchange,
                    "tradingsymbol": found[0],
                    "transaction_type": request.side,
                    "variety": VARIETY,
                    "product": request.product,
                    "order_type": request.order_type,
                    "quantity": request.quantity,
                    "price": float(request.limit_price or 0),
                    "trigger_price": 0,
                }
            )
        data = self._call(
            "basket margins",
            lambda: self.kite.basket_order_margins(basket, consider_positions=True, mode="compact"),
        )
        return decimal(((data or {}).get("final") or {}).get("total"))

    def _params(self, request: OrderRequest, symbol: str) -> dict:
        if not request.tag.isalnum() or len(request.tag) > 20:
            raise BrokerError(f"tag {request.tag!r} is not 1-20 letters and digits (Kite refuses it)", permanent=True)
        params = dict(
            variety=VARIETY,
            exchange=request.exchange,
            tradingsymbol=symbol,
            transaction_type=request.side,
            quantity=request.quantity,
            product=request.product,
            order_type=request.order_type,
            validity=KiteConnect.VALIDITY_DAY,
            tag=request.tag,
        )
        if request.order_type == "LIMIT":
            params["price"] = request.limit_price
        else:
            params["market_protection"] = settings.KITE_MARKET_PROTECTION
        if self.account.algo_id:
            params["algo_id"] = self.account.algo_id
        return params

    def _send(self, request: OrderRequest, symbol: str) -> str:
        params = self._params(request, symbol)
        return str(self._call(f"place {request.tag}", lambda: self.kite.place_order(**params), order_call=True))

    def place_order(self, request: OrderRequest) -> OrderResult:
        found = symbols_for([request], BROKER)[request.instrument_id]
        if isinstance(found, BrokerError):
            raise found
        order_id = self._send(request, found[0])
        try:
            return self._order(order_id)
        except BrokerError:  # accepted; its state comes with the next order sync
            return OrderResult(broker_order_id=order_id, status="OPEN", tag=request.tag, quantity=request.quantity)

    def place_orders(self, requests: list[OrderRequest]) -> list[OrderResult | BrokerError]:
        """One place call per order (Kite has no batch call), then one order book read for all their states."""
        symbols = symbols_for(requests, BROKER)
        answers: list = []
        for request in requests:
            found = symbols[request.instrument_id]
            if isinstance(found, BrokerError):
                answers.append(found)
                continue
            try:
                answers.append(self._send(request, found[0]))
            except SessionExpired as exc:
                answers.append(exc)
                answers.extend(exc for _ in requests[len(answers) :])  # the rest would be refused the same way
                break
            except BrokerError as exc:
                answers.append(exc)
        return placed_results(self, requests, answers)

    def orders_status(self) -> list[OrderResult]:
        orders = self._call("orders", lambda: self.kite.orders())
        trades = self._call("trades", lambda: self.kite.trades()) if orders else []
        by_order: dict[str, list] = {}
        for trade in trades or []:
            by_order.setdefault(str(trade["order_id"]), []).append(trade)
        return [self._result(row, by_order.get(str(row["order_id"]), [])) for row in orders or []]

    def find_order(self, tag: str) -> OrderResult | None:
        return next((r for r in self.orders_status() if r.tag == tag), None)

    def open_positions(self) -> dict[int, int]:
        rows = (self._call("positions", lambda: self.kite.positions()) or {}).get("net") or []
        keys = [(r["exchange"], r["tradingsymbol"]) for r in rows if as_int(r.get("quantity"))]
        ids = instrument_ids_for(BROKER, keys, by="symbol")
        net: dict[int, int] = {}
        for row in rows:
            quantity = as_int(row.get("quantity"))
            instrument_id = ids.get((row["exchange"], row["tradingsymbol"]))
            if quantity and instrument_id is not None:
                net[instrument_id] = net.get(instrument_id, 0) + quantity
        return {k: v for k, v in net.items() if v}

    def cancel_order(self, broker_order_id: str) -> OrderResult:
        try:
            self._call(
                f"cancel {broker_order_id}",
                lambda: self.kite.cancel_order(VARIETY, broker_order_id),
                order_call=True,
            )
        except SessionExpired:
            raise
        except BrokerError as exc:
            if not exc.permanent:
                raise
            state = self._order(broker_order_id)  # refused because it is no longer working: say what it is
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
        params = {"quantity": quantity, "price": limit_price, "order_type": order_type}
        if order_type == "MARKET":
            params["price"] = None
            params["market_protection"] = settings.KITE_MARKET_PROTECTION
        params = {k: v for k, v in params.items() if v is not None}
        self._call(
            f"modify {broker_order_id}",
            lambda: self.kite.modify_order(VARIETY, broker_order_id, **params),
            order_call=True,
        )
        return self._order(broker_order_id)

    # ---- session -----------------------------------------------------------------------------------------
    def connect(self, request_token: str):
        """Trade the login's request_token for today's access token; stores it encrypted."""
        credentials = self.account.credentials
        client = kite_client(api_key=credentials["api_key"])
        data = self._call(
            "generate session", lambda: client.generate_session(request_token, api_secret=credentials["api_secret"])
        )
        return sessions.session_save(
            account=self.account,
            tokens={"access_token": data["access_token"], "public_token": data.get("public_token", "")},
        )

    def ltp(self, keys: list[str]) -> dict[str, Decimal]:
        """Last prices for "EXCHANGE:SYMBOL" keys (the feed's fallback when the websocket is down)."""
        data = self._call("ltp", lambda: self.kite.ltp(keys)) or {}
        return {key: decimal(row.get("last_price")) for key, row in data.items()}
