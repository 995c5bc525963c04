"""A loopback Kite Connect v3 server: `python -m brokers.fakes.kite --port N [--api-key K --api-secret S]`.

It speaks what the kiteconnect SDK sends and expects (routes at "/", form-encoded POST/PUT, the
{"status": "success", "data": ...} / {"status": "error", "message", "error_type"} envelope, CSV instruments,
403 TokenException for a dead session, 429 NetworkException), with response bodies shaped like the official
samples (zerodha/kiteconnect-mocks). Order updates are POSTed to the postback URL with Kite's checksum.
Faults and the order book: see brokers/fakes/book.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import threading
import time
import urllib.request
from decimal import Decimal
from urllib.parse import parse_qs, urlencode, urlparse

from .book import Book, DropConnection, FakeHandler, FakeOrder, serve

TAG = re.compile(r"^[A-Za-z0-9]{1,20}$")
TS = "%Y-%m-%d %H:%M:%S"


def _ts(at: float) -> str:
    return time.strftime(TS, time.localtime(at))


class KiteHandler(FakeHandler):
    book = Book("K")
    api_key = "fake_api_key"
    api_secret = "fake_api_secret"
    redirect_url = ""
    postback_url = ""
    instruments_csv: dict[str, str] = {}

    # ---- envelope ----------------------------------------------------------------------------------------
    def ok(self, data, status: int = 200):
        self.send_json(status, {"status": "success", "data": data})

    def error(self, status: int, error_type: str, message: str):
        self.send_json(status, {"status": "error", "message": message, "data": None, "error_type": error_type})

    def too_many(self):
        self.error(429, "NetworkException", "Too many requests")

    # ---- wire helpers ------------------------------------------------------------------------------------
    def _form(self, raw: bytes) -> dict:
        return {key: values[-1] for key, values in parse_qs(raw.decode(), keep_blank_values=True).items()}

    def _query(self) -> dict[str, list[str]]:
        return parse_qs(urlparse(self.path).query)

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("token ") or ":" not in header:
            return False
        api_key, token = header[len("token ") :].split(":", 1)
        return api_key == self.api_key and self.book.token_ok(token)

    @staticmethod
    def status_of(order: FakeOrder) -> str:
        return order.status  # OPEN | COMPLETE | CANCELLED | REJECTED: Kite's own words

    def order_json(self, order: FakeOrder) -> dict:
        return {
            "placed_by": "FAKE01",
            "order_id": order.order_id,
            "exchange_order_id": None if order.status == "REJECTED" else f"1{order.order_id}",
            "parent_order_id": None,
            "status": self.status_of(order),
            "status_message": order.message or None,
            "status_message_raw": f"RMS:{order.message}" if order.message else None,
            "order_timestamp": _ts(order.placed_at),
            "exchange_update_timestamp": _ts(order.trades[-1].at if order.trades else order.placed_at),
            "exchange_timestamp": _ts(order.placed_at),
            "variety": order.variety,
            "modified": bool(order.extra.get("modified")),
            "exchange": order.exchange,
            "tradingsymbol": order.tradingsymbol,
            "instrument_token": int(order.token) if order.token.isdigit() else 0,
            "order_type": order.order_type,
            "transaction_type": order.side,
            "validity": "DAY",
            "product": order.product,
            "quantity": order.quantity,
            "disclosed_quantity": 0,
            "price": float(order.price),
            "trigger_price": 0,
            "average_price": float(order.average_price),
            "filled_quantity": order.filled,
            "pending_quantity": order.pending,
            "cancelled_quantity": order.quantity - order.filled if order.status == "CANCELLED" else 0,
            "market_protection": int(order.extra.get("market_protection") or 0),
            "meta": {},
            "tag": order.tag or None,
            "tags": [order.tag] if order.tag else [],
            "guid": f"fake{order.order_id}",
        }

    def trade_json(self, order: FakeOrder, trade) -> dict:
        return {
            "trade_id": trade.trade_id,
            "order_id": order.order_id,
            "exchange": order.exchange,
            "tradingsymbol": order.tradingsymbol,
            "instrument_token": int(order.token) if order.token.isdigit() else 0,
            "product": order.product,
            "average_price": float(trade.price),
            "quantity": trade.quantity,
            "exchange_order_id": f"1{order.order_id}",
            "transaction_type": order.side,
            "fill_timestamp": _ts(trade.at),
            "order_timestamp": time.strftime("%H:%M:%S", time.localtime(order.placed_at)),
            "exchange_timestamp": _ts(trade.at),
        }

    @classmethod
    def notify(cls, orders: list[FakeOrder]) -> None:
        """Kite's postback: the order as JSON plus checksum = sha256(order_id + order_timestamp + api_secret)."""
        url = cls.book.postback_url or cls.postback_url
        if not url or not orders:
            return
        secret = cls.book.api_secret or cls.api_secret
        payloads = []
        for order in orders:
            body = cls.order_json(cls, order)
            body.update(user_id="FAKE01", app_id=1234, unfilled_quantity=order.pending)
            body["checksum"] = hashlib.sha256(
                (body["order_id"] + body["order_timestamp"] + secret).encode()
            ).hexdigest()
            payloads.append(body)

        def post():
            for body in payloads:
                request = urllib.request.Request(
                    url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
                )
                try:
                    urllib.request.urlopen(request, timeout=5).read()
                except OSError:
                    pass  # Kite does not retry a postback either; the poll catches up

        threading.Thread(target=post, daemon=True).start()

    def extra_control(self, body: dict) -> None:
        for exchange, text in (body.get("instruments_csv") or {}).items():
            type(self).instruments_csv[exchange] = text

    # ---- routes ------------------------------------------------------------------------------------------
    def token_symbols(self) -> dict[int, str]:
        """instrument_token -> tradingsymbol from the instrument dumps (what the ticker prices)."""
        import csv
        import io

        out = {}
        for text in self.instruments_csv.values():
            for row in csv.DictReader(io.StringIO(text)):
                out[int(row["instrument_token"])] = row["tradingsymbol"]
        return out

    def do_GET(self):
        if self.headers.get("Upgrade", "").lower() == "websocket":
            from urllib.parse import parse_qs as qs

            query = qs(urlparse(self.path).query)
            api_key, token = query.get("api_key", [""])[0], query.get("access_token", [""])[0]
            if api_key != self.api_key or not self.book.token_ok(token):
                return self.send_text(403, "invalid api_key or access_token", "text/plain")
            from .ticker import serve_ticker

            return serve_ticker(self)
        return super().do_GET()

    def route(self, method: str, path: str, raw: bytes) -> None:
        fields = self._form(raw) if method in ("POST", "PUT") and raw and not path.startswith("/margins") else {}
        if path.startswith("/margins") and raw:
            fields = {"basket": json.loads(raw), "query": self._query()}
        self.book.record(method, path, fields)
        if path == "/connect/login" and method == "GET":
            return self.login_page()
        if path == "/session/token" and method == "POST":
            return self.session_token(fields)
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["instruments"] and method == "GET":  # public, as at Kite
            exchange = parts[1] if len(parts) > 1 else ""
            return self.send_text(200, self.instruments_csv.get(exchange, INSTRUMENT_HEADER), "text/csv")
        if not self._authorised():
            return self.error(403, "TokenException", "Incorrect `api_key` or `access_token`.")
        if parts[:1] == ["orders"]:
            if method == "GET" and len(parts) == 1:
                with self.book.lock:
                    return self.ok([self.order_json(o) for o in self.book.orders.values()])
            if method == "GET" and len(parts) == 2:
                order = self.book.orders.get(parts[1])
                if order is None:
                    return self.error(400, "InputException", "Couldn't find that `order_id`.")
                return self.ok([self.order_json(order)])
            if method == "GET" and len(parts) == 3 and parts[2] == "trades":
                order = self.book.orders.get(parts[1])
                return self.ok([self.trade_json(order, t) for t in order.trades] if order else [])
            if method == "POST" and len(parts) == 2:
                return self.place(parts[1], fields)
            if method == "PUT" and len(parts) == 3:
                return self.modify(parts[2], fields)
            if method == "DELETE" and len(parts) == 3:
                return self.cancel(parts[2])
        if path == "/trades" and method == "GET":
            with self.book.lock:
                return self.ok([self.trade_json(o, t) for o in self.book.orders.values() for t in o.trades])
        if path == "/portfolio/positions" and method == "GET":
            return self.positions()
        if path == "/user/margins" and method == "GET":
            return self.ok(
                {
                    "equity": {
                        "enabled": True,
                        "net": 1000000.0,
                        "available": {"adhoc_margin": 0, "cash": 1000000.0, "opening_balance": 1000000.0},
                        "utilised": {"debits": 0, "span": 0, "exposure": 0, "option_premium": 0},
                    },
                    "commodity": {"enabled": False, "net": 0, "available": {}, "utilised": {}},
                }
            )
        if path == "/user/profile" and method == "GET":
            return self.ok({"user_id": "FAKE01", "user_name": "Fake Trader", "broker": "ZERODHA"})
        if path == "/quote/ltp" and method == "GET":
            keys = self._query().get("i", [])
            data = {}
            for key in keys:
                symbol = key.split(":", 1)[-1]
                data[key] = {"instrument_token": 0, "last_price": float(self.book.price_of(symbol))}
            return self.ok(data)
        if path == "/margins/basket" and method == "POST":
            orders = json.loads(raw or b"[]")
            total = sum(
                float(self.book.price_of(o.get("tradingsymbol", ""))) * int(o.get("quantity", 0)) for o in orders
            )
            return self.ok(
                {
                    "initial": {"type": "equity", "total": total},
                    "final": {"type": "equity", "total": total},
                    "orders": [{"tradingsymbol": o.get("tradingsymbol"), "total": 0} for o in orders],
                }
            )
        return self.error(404, "GeneralException", f"Route not found: {method} {path}")

    def login_page(self):
        """The sandbox's stand-in for kite.zerodha.com/connect/login: log straight in and redirect back."""
        query = self._query()
        redirect_url = self.book.redirect_url or self.redirect_url
        if query.get("api_key", [""])[0] != self.api_key or not redirect_url:
            return self.send_text(400, "unknown api_key or no redirect url", "text/plain")
        token = self.book.issue_token("request")
        params = {"request_token": token, "action": "login", "status": "success"}
        for key, values in parse_qs(query.get("redirect_params", [""])[0]).items():
            params.setdefault(key, values[-1])  # Kite appends the app's redirect_params to the redirect
        target = f"{redirect_url}{'&' if '?' in redirect_url else '?'}" + urlencode(params)
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def session_token(self, fields: dict):
        api_key, request_token = fields.get("api_key", ""), fields.get("request_token", "")
        expected = hashlib.sha256((api_key + request_token + self.api_secret).encode()).hexdigest()
        if api_key != self.api_key or not request_token or fields.get("checksum") != expected:
            return self.error(403, "TokenException", "Token is invalid or has expired.")
        access = self.book.issue_token("access")
        return self.ok(
            {
                "user_type": "individual",
                "email": "fake@example.com",
                "user_name": "Fake Trader",
                "user_shortname": "Fake",
                "broker": "ZERODHA",
                "exchanges": ["NSE", "NFO", "BFO"],
                "products": ["CNC", "NRML", "MIS"],
                "order_types": ["MARKET", "LIMIT", "SL", "SL-M"],
                "avatar_url": None,
                "user_id": "FAKE01",
                "api_key": api_key,
                "access_token": access,
                "public_token": f"pub{access}",
                "refresh_token": "",
                "enctoken": "",
                "login_time": time.strftime(TS),
                "meta": {"demat_consent": "consent"},
            }
        )

    def place(self, variety: str, fields: dict):
        tag = fields.get("tag", "")
        if tag and not TAG.match(tag):
            return self.error(400, "InputException", "Invalid `tag`: at most 20 alphanumeric characters.")
        for name in ("exchange", "tradingsymbol", "transaction_type", "quantity", "product", "order_type"):
            if not fields.get(name):
                return self.error(400, "InputException", f"Missing `{name}`")
        quantity = int(fields["quantity"])
        if fields["order_type"] == "MARKET" and not fields.get("market_protection"):
            return self.error(400, "InputException", "Market orders without market protection are not allowed.")
        freeze = self.book.freeze_quantity
        if self.book.take("reject_freeze") or (freeze and quantity > freeze):
            return self.error(400, "InputException", f"Quantity {quantity} exceeds the freeze limit; slice the order.")
        order = self.book.place(
            tag=tag,
            exchange=fields["exchange"],
            tradingsymbol=fields["tradingsymbol"],
            token=fields.get("instrument_token", ""),
            side=fields["transaction_type"],
            quantity=quantity,
            product=fields["product"],
            order_type=fields["order_type"],
            price=Decimal(fields.get("price") or "0"),
            variety=variety,
            extra={"algo_id": fields.get("algo_id", ""), "market_protection": fields.get("market_protection", "")},
        )
        self.notify([order])
        if self.book.take("drop_after_accept"):
            raise DropConnection
        return self.ok({"order_id": order.order_id})

    def modify(self, order_id: str, fields: dict):
        order = self.book.orders.get(order_id)
        if order is None:
            return self.error(400, "InputException", "Couldn't find that `order_id`.")
        if order.status != "OPEN":
            return self.error(400, "InputException", f"Order cannot be modified as it is {order.status.lower()}.")
        if fields.get("order_type") == "MARKET" and not fields.get("market_protection"):
            return self.error(400, "InputException", "Market orders without market protection are not allowed.")
        if fields.get("market_protection"):
            order.extra["market_protection"] = fields["market_protection"]
        self.book.modify(
            order_id, quantity=fields.get("quantity"), price=fields.get("price"), order_type=fields.get("order_type")
        )
        self.notify([order])
        return self.ok({"order_id": order_id})

    def cancel(self, order_id: str):
        order = self.book.orders.get(order_id)
        if order is None:
            return self.error(400, "InputException", "Couldn't find that `order_id`.")
        if order.status != "OPEN":
            return self.error(400, "InputException", f"Order cannot be cancelled as it is {order.status.lower()}.")
        self.book.cancel(order_id)
        self.notify([order])
        return self.ok({"order_id": order_id})

    def positions(self):
        rows = []
        for (exchange, symbol, product), row in self.book.positions().items():
            quantity = row["buy_q"] - row["sell_q"]
            rows.append(
                {
                    "tradingsymbol": symbol,
                    "exchange": exchange,
                    "instrument_token": int(row["token"]) if str(row["token"]).isdigit() else 0,
                    "product": product,
                    "quantity": quantity,
                    "overnight_quantity": 0,
                    "multiplier": 1,
                    "average_price": 0,
                    "last_price": float(self.book.price_of(symbol)),
                    "buy_quantity": row["buy_q"],
                    "buy_value": float(row["buy_v"]),
                    "sell_quantity": row["sell_q"],
                    "sell_value": float(row["sell_v"]),
                    "day_buy_quantity": row["buy_q"],
                    "day_sell_quantity": row["sell_q"],
                }
            )
        return self.ok({"net": rows, "day": rows})


INSTRUMENT_HEADER = (
    "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,"
    "instrument_type,segment,exchange\n"
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default=KiteHandler.api_key)
    parser.add_argument("--api-secret", default=KiteHandler.api_secret)
    parser.add_argument("--redirect-url", default="", help="where the sandbox login page sends the request_token")
    parser.add_argument("--postback-url", default="", help="where order updates are POSTed (Kite's postback)")
    parser.add_argument(
        "--instruments", action="append", default=[], help="EXCHANGE=path.csv served at /instruments/EXCHANGE"
    )
    parser.add_argument("--access-token", action="append", default=[], help="a session token valid from the start")
    args = parser.parse_args(argv)
    KiteHandler.api_key, KiteHandler.api_secret, KiteHandler.redirect_url = (
        args.api_key,
        args.api_secret,
        args.redirect_url,
    )
    for item in args.instruments:
        exchange, path = item.split("=", 1)
        with open(path) as handle:
            KiteHandler.instruments_csv[exchange] = handle.read()
    KiteHandler.book.tokens.update(args.access_token)
    KiteHandler.postback_url = args.postback_url
    serve(KiteHandler, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
