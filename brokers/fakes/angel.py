"""A loopback Angel One SmartAPI server: `python -m brokers.fakes.angel --port N [--api-key K --client-code C
--pin P --totp-secret BASE32]`.

It speaks what smartapi-python sends and expects: JSON bodies under /rest/, answers {"status": true,
"message": "SUCCESS", "errorcode": "", "data": ...}; failures arrive as HTTP 200 with status false and an
errorcode (AB1010 "AMX Session Expired" once the session is expired or past its JWT's exp, AG8001 for a token it
never issued, AB1050 for a wrong TOTP); its jwtToken is JWT-shaped with an `exp` claim `jwt_hours` (control key,
default 27) after issue on the fake's clock, as Angel One's 24-28 hour tokens; statuses in lower case ("open", "complete", "cancelled", "rejected"); numbers in the order
book as strings where the real API sends strings; an empty book is data null. Faults and the book: book.py.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import struct
import time
import uuid
from decimal import Decimal

from .book import Book, DropConnection, FakeHandler, FakeOrder, serve

PREFIX = "/rest/secure/angelbroking/"
PRODUCT_TYPES = {"CARRYFORWARD", "INTRADAY", "DELIVERY", "MARGIN", "BO"}


def totp_now(secret: str, at: float | None = None, step: int = 30) -> set[str]:
    """RFC 6238 codes for this window and its neighbours (stdlib only, as a broker's clock tolerance)."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((at or time.time()) // step)
    codes = set()
    for c in (counter - 1, counter, counter + 1):
        digest = hmac.new(key, struct.pack(">Q", c), hashlib.sha1).digest()
        offset = digest[-1] & 0x0F
        code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
        codes.add(f"{code:06d}")
    return codes


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jwt_for(claims: dict) -> str:
    """A JWT-shaped token (HS512 header, the claims, a signature the fake never checks: it knows its tokens)."""
    header = b64url(json.dumps({"alg": "HS512"}).encode())
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    return f"{header}.{payload}.{b64url(hashlib.sha512((header + payload).encode()).digest())}"


class AngelHandler(FakeHandler):
    book = Book("A")
    jwt_exp: dict[str, float] = {}
    api_key = "fake_angel_key"
    client_code = "A123456"
    pin = "1234"
    totp_secret = ""
    expired: set[str] = set()
    scrip_master = "[]"

    def ok(self, data, message: str = "SUCCESS"):
        self.send_json(200, {"status": True, "message": message, "errorcode": "", "data": data})

    def fail(self, errorcode: str, message: str, status: int = 200):
        self.send_json(status, {"status": False, "message": message, "errorcode": errorcode, "data": None})

    def too_many(self):
        self.fail("AB1019", "Access denied because of exceeding access rate", status=429)

    def _token(self) -> str:
        header = self.headers.get("Authorization", "")
        return header[len("Bearer ") :] if header.startswith("Bearer ") else ""

    @staticmethod
    def status_of(order: FakeOrder) -> str:
        return order.status.lower()  # open | complete | cancelled | rejected

    def order_json(self, order: FakeOrder) -> dict:
        return {
            "variety": order.variety,
            "ordertype": order.order_type,
            "producttype": order.product,
            "duration": "DAY",
            "price": float(order.price),
            "triggerprice": 0.0,
            "quantity": str(order.quantity),
            "disclosedquantity": "0",
            "squareoff": 0.0,
            "stoploss": 0.0,
            "trailingstoploss": 0.0,
            "tradingsymbol": order.tradingsymbol,
            "transactiontype": order.side,
            "exchange": order.exchange,
            "symboltoken": order.token,
            "ordertag": order.tag,
            "instrumenttype": "OPTIDX",
            "strikeprice": -1.0,
            "optiontype": "",
            "expirydate": "",
            "lotsize": "1",
            "cancelsize": str(order.quantity - order.filled) if order.status == "CANCELLED" else "0",
            "averageprice": float(order.average_price),
            "filledshares": str(order.filled),
            "unfilledshares": str(order.pending),
            "orderid": order.order_id,
            "text": order.message,
            "status": self.status_of(order),
            "orderstatus": self.status_of(order),
            "updatetime": time.strftime("%d-%b-%Y %H:%M:%S", time.localtime(order.placed_at)),
            "exchtime": time.strftime("%d-%b-%Y %H:%M:%S", time.localtime(order.placed_at)),
            "exchorderupdatetime": time.strftime("%d-%b-%Y %H:%M:%S", time.localtime(order.placed_at)),
            "fillid": order.trades[-1].trade_id if order.trades else "",
            "filltime": time.strftime("%H:%M:%S", time.localtime(order.trades[-1].at)) if order.trades else "",
            "parentorderid": "",
            "uniqueorderid": order.extra.get("uniqueorderid", ""),
        }

    def extra_control(self, body: dict) -> None:
        if "scrip_master" in body:
            type(self).scrip_master = body["scrip_master"]

    def route(self, method: str, path: str, raw: bytes) -> None:
        try:
            fields = json.loads(raw) if raw and method in ("POST", "PUT") else {}
        except ValueError:
            return self.fail("AB1004", "Invalid request body")
        fields = fields if isinstance(fields, dict) else {}
        self.book.record(method, path, {k: v for k, v in fields.items() if k not in ("password", "totp")})
        if path == "/OpenAPI_File/files/OpenAPIScripMaster.json" and method == "GET":
            return self.send_text(200, self.scrip_master, "application/json")
        if path == "/rest/auth/angelbroking/user/v1/loginByPassword" and method == "POST":
            return self.login(fields)
        if path == "/rest/auth/angelbroking/jwt/v1/generateTokens" and method == "POST":
            return self.refresh(fields)
        if self.headers.get("X-PrivateKey") != self.api_key:
            return self.fail("AG8004", "Invalid API Key")
        token = self._token()
        now = time.time() + self.book.clock_offset
        if self.book.token_ok(token) and self.jwt_exp.get(token, now + 1) <= now:
            self.book.tokens.discard(token)  # past its exp: Angel One ends the session
        if not self.book.token_ok(token):
            if token in self.expired or token in self.jwt_exp or (token and token.startswith("aaccess")):
                return self.fail("AB1010", "AMX Session Expired")
            return self.fail("AG8001", "Invalid Token")
        name = path[len(PREFIX) :] if path.startswith(PREFIX) else path
        if name == "user/v1/getProfile":
            return self.ok(
                {
                    "clientcode": self.client_code,
                    "name": "FAKE TRADER",
                    "email": "",
                    "mobileno": "",
                    "exchanges": ["nse_cm", "nse_fo", "bse_fo"],
                    "products": ["MARGIN", "MIS", "NRML", "CNC"],
                    "lastlogintime": "",
                    "brokerid": "B2C",
                }
            )
        if name == "user/v1/logout":
            self.book.tokens.discard(token)
            return self.ok("", message="SUCCESS")
        if name == "order/v1/placeOrder":
            return self.place(fields)
        if name == "order/v1/modifyOrder":
            return self.modify(fields)
        if name == "order/v1/cancelOrder":
            return self.cancel(fields)
        if name == "order/v1/getOrderBook":
            with self.book.lock:
                rows = [self.order_json(o) for o in self.book.orders.values()]
            return self.ok(rows or None)
        if name == "order/v1/getTradeBook":
            with self.book.lock:
                rows = [
                    {
                        "exchange": o.exchange,
                        "producttype": o.product,
                        "tradingsymbol": o.tradingsymbol,
                        "instrumenttype": "OPTIDX",
                        "symbolgroup": "XX",
                        "strikeprice": "-1",
                        "optiontype": "",
                        "expirydate": "",
                        "marketlot": "1",
                        "precision": "2",
                        "multiplier": "-1",
                        "tradevalue": f"{t.price * t.quantity:.2f}",
                        "transactiontype": o.side,
                        "fillprice": f"{t.price:.2f}",
                        "fillsize": str(t.quantity),
                        "orderid": o.order_id,
                        "fillid": t.trade_id,
                        "filltime": time.strftime("%H:%M:%S", time.localtime(t.at)),
                    }
                    for o in self.book.orders.values()
                    for t in o.trades
                ]
            return self.ok(rows or None)
        if name == "order/v1/getPosition":
            return self.positions()
        if name == "user/v1/getRMS":
            return self.ok(
                {
                    "net": "1000000.00",
                    "availablecash": "1000000.00",
                    "availableintradaypayin": "0.00",
                    "availablelimitmargin": "0.00",
                    "collateral": "0.00",
                    "m2munrealized": "0.00",
                    "m2mrealized": "0.00",
                    "utiliseddebits": "0.00",
                }
            )
        if name == "order/v1/getLtpData":
            symbol = fields.get("tradingsymbol", "")
            price = float(self.book.price_of(symbol))
            return self.ok(
                {
                    "exchange": fields.get("exchange"),
                    "tradingsymbol": symbol,
                    "symboltoken": fields.get("symboltoken"),
                    "open": price,
                    "high": price,
                    "low": price,
                    "close": price,
                    "ltp": price,
                }
            )
        return self.fail("AB1004", f"Something Went Wrong, Please Try After Sometime ({path})", status=404)

    def login(self, fields: dict):
        if fields.get("clientcode") != self.client_code or fields.get("password") != self.pin:
            return self.fail("AB1007", "Invalid clientcode or password")
        if self.totp_secret and fields.get("totp") not in totp_now(
            self.totp_secret, time.time() + self.book.clock_offset
        ):
            return self.fail("AB1050", "Invalid totp")
        return self.ok(self._tokens())

    def _tokens(self) -> dict:
        inner = self.book.issue_token("access")
        issued = time.time() + self.book.clock_offset
        exp = issued + float(self.book.faults.get("jwt_hours", 27)) * 3600
        jwt = jwt_for({"username": self.client_code, "token": inner, "iat": int(issued), "exp": int(exp)})
        with self.book.lock:
            self.book.tokens.discard(inner)
            self.book.tokens.add(jwt)
            type(self).jwt_exp[jwt] = int(exp)
        return {
            "jwtToken": jwt,
            "refreshToken": self.book.issue_token("refresh"),
            "feedToken": uuid.uuid4().hex,
        }

    def refresh(self, fields: dict):
        refresh = fields.get("refreshToken", "")
        with self.book.lock:
            if refresh not in self.book.refresh_tokens:
                return self.fail("AB8051", "Invalid Refresh Token")
            self.book.refresh_tokens.discard(refresh)
        return self.ok(self._tokens())

    def place(self, fields: dict):
        tag = fields.get("ordertag", "")
        if len(tag) > 20:
            return self.fail("AB4036", "Invalid ordertag: at most 20 characters")
        for name in ("variety", "tradingsymbol", "symboltoken", "transactiontype", "exchange", "ordertype", "quantity"):
            if not fields.get(name):
                return self.fail("AB4001", f"Invalid {name}")
        if fields.get("producttype") not in PRODUCT_TYPES:
            return self.fail("AB1012", "Invalid Product Type")
        quantity = int(fields["quantity"])
        freeze = self.book.freeze_quantity
        if self.book.take("reject_freeze") or (freeze and quantity > freeze):
            return self.fail("AB4008", f"Quantity {quantity} exceeds the freeze limit")
        order = self.book.place(
            tag=tag,
            exchange=fields["exchange"],
            tradingsymbol=fields["tradingsymbol"],
            token=str(fields["symboltoken"]),
            side=fields["transactiontype"],
            quantity=quantity,
            product=fields["producttype"],
            order_type=fields["ordertype"],
            price=Decimal(str(fields.get("price") or "0")),
            variety=fields["variety"],
            extra={"uniqueorderid": str(uuid.uuid4()), "duration": fields.get("duration", "")},
        )
        if self.book.take("drop_after_accept"):
            raise DropConnection
        return self.ok(
            {"script": order.tradingsymbol, "orderid": order.order_id, "uniqueorderid": order.extra["uniqueorderid"]}
        )

    def modify(self, fields: dict):
        order = self.book.orders.get(str(fields.get("orderid", "")))
        if order is None:
            return self.fail("AB2001", "Order not found")
        if order.status != "OPEN":
            return self.fail("AB4009", f"Order is {order.status.lower()} and cannot be modified")
        self.book.modify(
            order.order_id,
            quantity=fields.get("quantity"),
            price=fields.get("price"),
            order_type=fields.get("ordertype"),
        )
        return self.ok({"orderid": order.order_id, "uniqueorderid": order.extra["uniqueorderid"]})

    def cancel(self, fields: dict):
        order = self.book.orders.get(str(fields.get("orderid", "")))
        if order is None:
            return self.fail("AB2001", "Order not found")
        if order.status != "OPEN":
            return self.fail("AB4009", f"Order is {order.status.lower()} and cannot be cancelled")
        self.book.cancel(order.order_id)
        return self.ok({"orderid": order.order_id, "uniqueorderid": order.extra["uniqueorderid"]})

    def positions(self):
        rows = []
        for (exchange, symbol, product), row in self.book.positions().items():
            buy_avg = row["buy_v"] / row["buy_q"] if row["buy_q"] else Decimal(0)
            sell_avg = row["sell_v"] / row["sell_q"] if row["sell_q"] else Decimal(0)
            rows.append(
                {
                    "exchange": exchange,
                    "symboltoken": row["token"],
                    "producttype": product,
                    "tradingsymbol": symbol,
                    "symbolname": symbol,
                    "instrumenttype": "OPTIDX",
                    "buyqty": str(row["buy_q"]),
                    "sellqty": str(row["sell_q"]),
                    "buyamount": f"{row['buy_v']:.2f}",
                    "sellamount": f"{row['sell_v']:.2f}",
                    "buyavgprice": f"{buy_avg:.2f}",
                    "sellavgprice": f"{sell_avg:.2f}",
                    "netqty": str(row["buy_q"] - row["sell_q"]),
                    "ltp": f"{self.book.price_of(symbol):.2f}",
                    "lotsize": "1",
                }
            )
        return self.ok(rows or None)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default=AngelHandler.api_key)
    parser.add_argument("--client-code", default=AngelHandler.client_code)
    parser.add_argument("--pin", default=AngelHandler.pin)
    parser.add_argument("--totp-secret", default="", help="base32; empty accepts any TOTP")
    parser.add_argument("--scrip-master", default="", help="a ScripMaster JSON file to serve")
    args = parser.parse_args(argv)
    if args.scrip_master:
        with open(args.scrip_master) as handle:
            AngelHandler.scrip_master = handle.read()
    AngelHandler.api_key = args.api_key
    AngelHandler.client_code = args.client_code
    AngelHandler.pin = args.pin
    AngelHandler.totp_secret = args.totp_secret
    serve(AngelHandler, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
