"""Kite postbacks: which account an order update belongs to, proven by its checksum.

Kite POSTs the order as JSON with checksum = SHA-256(order_id + order_timestamp + api_secret). Only the holder
of the account's api_secret can make it, so a valid checksum names the account; anything else is refused. The
postback itself carries no trade ids, so it is a signal: the caller syncs that account from its order and trade
books (one orders_status call), which books each fill exactly once.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from .models import Broker, BrokerAccount


class PostbackRefused(Exception):
    """Not a postback we can trust (malformed, or no account's api_secret makes its checksum)."""


def kite_checksum(*, order_id: str, order_timestamp: str, api_secret: str) -> str:
    return hashlib.sha256(f"{order_id}{order_timestamp}{api_secret}".encode()).hexdigest()


def kite_postback_account(body: bytes) -> tuple[BrokerAccount, dict]:
    """(the Zerodha account, the payload) of a Kite postback whose checksum verifies; PostbackRefused if not."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise PostbackRefused("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise PostbackRefused("the body is not a JSON object")
    missing = [key for key in ("order_id", "order_timestamp", "checksum") if not isinstance(payload.get(key), str)]
    if missing:
        raise PostbackRefused(f"missing {', '.join(missing)}")
    accounts = BrokerAccount.objects.filter(broker=Broker.ZERODHA).exclude(credentials_encrypted="")
    # The account whose client id is Kite's user_id first; the checksum, not the id, is what proves it.
    named = [a for a in accounts if a.client_id == payload.get("user_id")]
    for account in named + [a for a in accounts if a not in named]:
        secret = account.credentials.get("api_secret", "")
        expected = kite_checksum(
            order_id=payload["order_id"], order_timestamp=payload["order_timestamp"], api_secret=secret
        )
        if secret and hmac.compare_digest(expected, payload["checksum"]):
            return account, payload
    raise PostbackRefused("the checksum matches no Zerodha account's api_secret")
