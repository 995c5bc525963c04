"""The order book and the fault switches shared by the loopback broker fakes (stdlib only: a fake runs as its own
process and imports neither Django nor the platform).

A fake holds its orders the way an exchange-connected broker does: an order is accepted, then it rests, fills
(at once, later, or in parts) or is rejected; cancels and modifies act on what is still working. Tests and the
sandbox steer it through a control endpoint (`POST /_control`, JSON) and read back what arrived
(`GET /_control/orders`, every request as the fake received it, fields untouched).

Control keys (each optional; counts are "the next N orders/requests"):
  reject_margin: N       next N orders are accepted, then rejected by the RMS for insufficient margin
  reject_freeze: N       next N orders are refused at placement: quantity above the freeze limit
  partial: N, partial_ratio: 0.5   next N orders fill only that share (in lots of `lot`, default 1)
  fill_later: N, fill_after: seconds   next N orders rest OPEN and fill after that many seconds (0 = on /_control/fill)
  fill_later_side: BUY|SELL   only orders of that side rest (the others trade at once)
  rest: N                next N orders rest OPEN until /_control/fill or a marketable modify
POST /_control/fill {"order_id": ID, "quantity": Q} fills resting orders now (all, or one; Q more of each, or all).
  http_429: N            next N requests are answered 429 (not processed)
  http_500: N            next N requests are answered 500 (not processed)
  delay: seconds, delay_count: N   next N requests are answered after that many seconds (processed after the wait)
  drop_after_accept: N   next N orders are booked, then the connection is closed with no answer
  expire_session: true   every issued session token stops working (TokenException / AG8001)
  ltp: {"SYMBOL": price} the price MARKET orders fill at and LIMIT orders are matched against (default 100)
  freeze_quantity: N     quantity above which an order is refused (default none)
  postback_url, api_secret   Kite only: where to POST order updates and the secret their checksum uses
  redirect_url           Kite only: where the login page sends the request_token
  clock: epoch seconds   the client's "now" (a test's pinned clock): TOTP codes and JWT expiry follow it
  jwt_hours: H           Angel only: hours from issue to the exp of the JWTs it issues (default 27)
  reset: true            forget orders, counters and faults
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Trade:
    trade_id: str
    quantity: int
    price: Decimal
    at: float


@dataclass
class FakeOrder:
    order_id: str
    tag: str
    exchange: str
    tradingsymbol: str
    token: str
    side: str
    quantity: int
    product: str
    order_type: str
    price: Decimal
    variety: str
    extra: dict
    placed_at: float
    status: str = "OPEN"  # OPEN | COMPLETE | CANCELLED | REJECTED (the fake's own vocabulary)
    message: str = ""
    trades: list[Trade] = field(default_factory=list)
    fill_at: float | None = None  # a resting order that fills by itself at this time
    target_ratio: Decimal | None = None  # a partial fill stops here

    @property
    def filled(self) -> int:
        return sum(t.quantity for t in self.trades)

    @property
    def average_price(self) -> Decimal:
        if not self.trades:
            return Decimal("0")
        value = sum(t.price * t.quantity for t in self.trades)
        return (value / self.filled).quantize(Decimal("0.01"))

    @property
    def pending(self) -> int:
        return self.quantity - self.filled if self.status == "OPEN" else 0


class Book:
    """Orders, trades, faults and sessions of one fake broker; every method holds the lock."""

    def __init__(self, prefix: str):
        self.lock = threading.RLock()
        self.prefix = prefix
        self.reset()

    def reset(self):
        with self.lock:
            self.orders: dict[str, FakeOrder] = {}
            self.requests: list[dict] = []
            self.faults: dict = {}
            self.ltp: dict[str, Decimal] = {}
            self.freeze_quantity: int | None = None
            self.tokens: set[str] = set()
            self.refresh_tokens: set[str] = set()
            self.postback_url = ""
            self.redirect_url = ""
            self.api_secret = ""
            self.clock_offset = 0.0
            self._ids = itertools.count(1)
            self._trade_ids = itertools.count(1)

    # ---- control ------------------------------------------------------------------------------------------
    def control(self, body: dict) -> dict:
        with self.lock:
            if body.get("reset"):
                self.reset()
            for key in (
                "reject_margin",
                "reject_freeze",
                "partial",
                "fill_later",
                "rest",
                "http_429",
                "http_500",
                "drop_after_accept",
                "delay_count",
            ):
                if key in body:
                    self.faults[key] = int(body[key])
            for key in ("partial_ratio", "fill_after", "delay", "jwt_hours"):
                if key in body:
                    self.faults[key] = float(body[key])
            if "fill_later_side" in body:
                self.faults["fill_later_side"] = str(body["fill_later_side"] or "")
            if "lot" in body:
                self.faults["lot"] = int(body["lot"])
            if body.get("expire_session"):
                self.tokens.clear()
                self.refresh_tokens.clear()
            for symbol, price in (body.get("ltp") or {}).items():
                self.ltp[symbol] = Decimal(str(price))
                self._match_all()
            if "freeze_quantity" in body:
                self.freeze_quantity = int(body["freeze_quantity"]) if body["freeze_quantity"] else None
            if "clock" in body:
                self.clock_offset = float(body["clock"]) - time.time()
            if "postback_url" in body:
                self.postback_url = body["postback_url"]
            if "redirect_url" in body:
                self.redirect_url = body["redirect_url"]
            if "api_secret" in body:
                self.api_secret = body["api_secret"]
            for token in body.get("issue_tokens") or []:
                self.tokens.add(token)
            return {"faults": self.faults, "orders": len(self.orders)}

    def take(self, key: str) -> bool:
        """Use up one of the next-N fault `key`; True when it applies to this request/order."""
        with self.lock:
            left = self.faults.get(key, 0)
            if left > 0:
                self.faults[key] = left - 1
                return True
            return False

    def record(self, method: str, path: str, fields: dict):
        with self.lock:
            self.requests.append({"method": method, "path": path, "fields": fields, "at": time.time()})

    # ---- sessions -----------------------------------------------------------------------------------------
    def issue_token(self, kind: str = "access") -> str:
        with self.lock:
            token = f"{self.prefix.lower()}{kind}{next(self._ids):06d}{int(time.time() * 1000) % 100000:05d}"
            (self.tokens if kind == "access" else self.refresh_tokens).add(token)
            return token

    def token_ok(self, token: str) -> bool:
        with self.lock:
            return token in self.tokens

    # ---- orders -------------------------------------------------------------------------------------------
    def price_of(self, symbol: str) -> Decimal:
        return self.ltp.get(symbol, Decimal("100"))

    def place(self, **fields) -> FakeOrder:
        """Book an order; the caller has already refused what is refused at placement."""
        with self.lock:
            now = time.time()
            order = FakeOrder(
                order_id=f"{time.strftime('%y%m%d')}{next(self._ids):09d}",
                placed_at=now,
                **fields,
            )
            self.orders[order.order_id] = order
            if self.take("reject_margin"):
                order.status = "REJECTED"
                required = (self.price_of(order.tradingsymbol) * order.quantity).quantize(Decimal("0.01"))
                order.message = f"Insufficient funds. Required margin is {required} but available margin is 0.00."
            elif self.faults.get("fill_later_side", "") in ("", order.side) and self.take("fill_later"):
                after = self.faults.get("fill_after", 0.0)
                order.fill_at = now + after if after > 0 else None
            elif self.take("rest"):
                pass
            else:
                if self.take("partial"):
                    order.target_ratio = Decimal(str(self.faults.get("partial_ratio", 0.5)))
                self._match(order)
            return order

    def _match(self, order: FakeOrder, *, force: bool = False, quantity: int | None = None) -> bool:
        """Fill what the price allows (all of a MARKET order, a LIMIT order when it crosses; at most `quantity`
        when given, the rest working on); True if it traded."""
        if order.status != "OPEN":
            return False
        ltp = self.price_of(order.tradingsymbol)
        if order.order_type == "MARKET" or force:
            price = ltp
        elif order.side == "BUY" and order.price >= ltp:
            price = min(order.price, ltp)
        elif order.side == "SELL" and order.price <= ltp:
            price = max(order.price, ltp)
        else:
            return False
        if quantity is not None:
            quantity = min(quantity, order.quantity - order.filled)
            if quantity <= 0:
                return False
        else:
            quantity = order.quantity - order.filled
        if order.target_ratio is not None:
            lot = self.faults.get("lot", 1)
            lots = int((Decimal(order.quantity // lot) * order.target_ratio).to_integral_value(rounding=ROUND_DOWN))
            quantity = max(lots, 1) * lot - order.filled
            order.target_ratio = None  # one partial fill, then the rest works like any order
            if quantity <= 0:
                return False
        order.trades.append(
            Trade(trade_id=f"{self.prefix}T{next(self._trade_ids):08d}", quantity=quantity, price=price, at=time.time())
        )
        if order.filled >= order.quantity:
            order.status = "COMPLETE"
        return True

    def _match_all(self):
        for order in self.orders.values():
            self._match(order)

    def due(self) -> list[FakeOrder]:
        """Fill the resting orders whose time has come; returns the orders that changed."""
        changed = []
        with self.lock:
            now = time.time()
            for order in self.orders.values():
                if order.status == "OPEN" and order.fill_at is not None and order.fill_at <= now:
                    order.fill_at = None
                    if self._match(order, force=True):
                        changed.append(order)
        return changed

    def fill_now(self, order_id: str | None = None, quantity: int | None = None) -> list[FakeOrder]:
        """Fill resting orders at once (all, or one): the 'fill later' of a test that steers time itself. With
        `quantity`, each fills only that much more (a partial fill; the rest keeps resting)."""
        changed = []
        with self.lock:
            for order in self.orders.values():
                if order.status == "OPEN" and order_id in (None, order.order_id):
                    order.target_ratio = None
                    if quantity is None:
                        order.fill_at = None
                    if self._match(order, force=True, quantity=quantity):
                        changed.append(order)
        return changed

    def cancel(self, order_id: str) -> FakeOrder:
        with self.lock:
            order = self.orders[order_id]
            if order.status == "OPEN":
                order.status = "CANCELLED"
                order.fill_at = None
            return order

    def modify(self, order_id: str, *, quantity=None, price=None, order_type=None) -> FakeOrder:
        with self.lock:
            order = self.orders[order_id]
            if quantity is not None:
                order.quantity = int(quantity)
            if price is not None:
                order.price = Decimal(str(price))
            if order_type is not None:
                order.order_type = order_type
            order.extra["modified"] = True
            self._match(order)
            return order

    def positions(self) -> dict[tuple[str, str, str], dict]:
        """Net per (exchange, symbol, product) from the trades: quantity, buy/sell quantity and value."""
        net: dict = {}
        with self.lock:
            for order in self.orders.values():
                if not order.filled:
                    continue
                key = (order.exchange, order.tradingsymbol, order.product)
                row = net.setdefault(
                    key,
                    {"token": order.token, "buy_q": 0, "sell_q": 0, "buy_v": Decimal(0), "sell_v": Decimal(0)},
                )
                value = order.average_price * order.filled
                if order.side == "BUY":
                    row["buy_q"] += order.filled
                    row["buy_v"] += value
                else:
                    row["sell_q"] += order.filled
                    row["sell_v"] += value
        return net


class DropConnection(Exception):
    """Raised by a route to close the socket with no answer (the order was booked)."""


class FakeHandler(BaseHTTPRequestHandler):
    """Common plumbing: body parsing, faults that act on any request, the control routes, JSON answers."""

    book: Book  # set on the subclass
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002  (the stdlib's signature)
        pass

    def _body_bytes(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_json(self, status: int, payload) -> None:
        body = json.dumps(payload, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_text(self, status: int, text: str, content_type: str) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass

    def _handle(self, method: str) -> None:
        raw = self._body_bytes()
        path = self.path.split("?", 1)[0]
        if path.startswith("/_control"):
            return self._control(method, path, raw)
        if self.book.take("http_429"):
            return self.too_many()
        if self.book.take("http_500"):
            return self.send_text(500, "<html><body>502 Bad Gateway</body></html>", "text/html")
        if self.book.take("delay_count"):
            time.sleep(self.book.faults.get("delay", 0.0))
        self.notify(self.book.due())
        try:
            self.route(method, path, raw)
        except DropConnection:
            self.drop()

    def _control(self, method, path, raw):
        if path == "/_control" and method == "POST":
            body = json.loads(raw or b"{}")
            self.extra_control(body)
            return self.send_json(200, self.book.control(body))
        if path == "/_control/fill" and method == "POST":
            body = json.loads(raw or b"{}")
            quantity = body.get("quantity")
            changed = self.book.fill_now(body.get("order_id"), int(quantity) if quantity else None)
            self.notify(changed)
            return self.send_json(200, {"filled": [o.order_id for o in changed]})
        if path == "/_control/orders" and method == "GET":
            with self.book.lock:
                orders = [self.order_view(o) for o in self.book.orders.values()]
                requests = list(self.book.requests)
            return self.send_json(200, {"orders": orders, "requests": requests})
        if path == "/_control/tick" and method == "POST":
            changed = self.book.due()
            self.notify(changed)
            return self.send_json(200, {"filled": [o.order_id for o in changed]})
        return self.send_json(404, {"error": "no such control route"})

    def order_view(self, order: FakeOrder) -> dict:
        return {
            "order_id": order.order_id,
            "tag": order.tag,
            "exchange": order.exchange,
            "tradingsymbol": order.tradingsymbol,
            "token": order.token,
            "side": order.side,
            "quantity": order.quantity,
            "filled": order.filled,
            "product": order.product,
            "order_type": order.order_type,
            "price": str(order.price),
            "status": order.status,
            "message": order.message,
            "extra": order.extra,
        }

    def extra_control(self, body: dict) -> None:
        """Hook: control keys only one broker's fake knows (its instrument dump)."""

    @classmethod
    def notify(cls, orders: list[FakeOrder]) -> None:
        """Hook: Kite posts a postback for each changed order."""

    def too_many(self) -> None:
        raise NotImplementedError

    def route(self, method: str, path: str, raw: bytes) -> None:
        raise NotImplementedError

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_DELETE(self):
        self._handle("DELETE")


def serve(handler: type[FakeHandler], *, host: str, port: int, ticker=None) -> None:
    """Serve until killed; a background thread fills due resting orders every 100 ms."""
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True

    def tick():
        while True:
            time.sleep(0.1)
            changed = handler.book.due()
            if changed:
                handler.notify(changed)

    threading.Thread(target=tick, daemon=True).start()
    print(f"{handler.__name__} listening on http://{host}:{server.server_address[1]}", flush=True)
    server.serve_forever()
