"""Broker sessions at rest: the tokens a login produced, encrypted like credentials, with their expiry.

Kite access tokens die at 06:00 IST the next morning. Angel One's JWT carries its own expiry: SmartAPI
announced (forum topic 4137, "Changes in JWT Token Validity") that a fresh token is valid for 24-28 hours
instead of until 05:00 IST, and told users to read the token's `exp` claim. So an Angel One session ends at the
`exp` of the JWT the login or refresh returned, or 24 hours after it when the token does not say (the short end
of Angel One's range). A session the broker refuses earlier is cleared here and recorded on the account
(last_error), which is what the readiness check, the dashboard and the session alerts read.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from zoneinfo import ZoneInfo

from django.utils import timezone

from . import crypto
from .models import BrokerAccount

IST = ZoneInfo("Asia/Kolkata")
EXPIRY_TIME = {"ZERODHA": dt.time(6, 0)}
ANGEL_FALLBACK_LIFETIME = dt.timedelta(hours=24)
# The trading day an Angel One morning login must cover (NSE/BSE close at 15:30 IST; exits run until then).
TRADING_DAY_END = dt.time(16, 0)


def jwt_expiry(token: str) -> dt.datetime | None:
    """The `exp` claim of a JWT (UTC), read without verifying the signature: the platform does not hold the
    broker's key and uses it only to know when to log in again (the broker's refusal stays the authority).
    None when the token is not a JWT or carries no readable exp."""
    parts = (token or "").split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        return dt.datetime.fromtimestamp(int(payload["exp"]), tz=dt.UTC)
    except (binascii.Error, ValueError, TypeError, KeyError, OverflowError, OSError, UnicodeDecodeError):
        return None


def angel_session_expiry(jwt: str, *, at: dt.datetime) -> dt.datetime:
    """When an Angel One JWT made at `at` stops working: its exp claim, else 24 hours after `at`."""
    return jwt_expiry(jwt) or at.astimezone(dt.UTC) + ANGEL_FALLBACK_LIFETIME


def session_expiry(broker: str, *, at: dt.datetime) -> dt.datetime:
    """When a session made at `at` stops working, for brokers with a daily cut-off (Kite: 06:00 IST), as UTC;
    Angel One's comes from its token (angel_session_expiry): without one, 24 hours."""
    if broker == "ANGELONE":
        return at.astimezone(dt.UTC) + ANGEL_FALLBACK_LIFETIME
    local = at.astimezone(IST)
    cutoff = dt.datetime.combine(local.date(), EXPIRY_TIME.get(broker, dt.time(0, 0)), tzinfo=IST)
    if cutoff <= local:
        cutoff += dt.timedelta(days=1)
    return cutoff.astimezone(dt.UTC)


def session_tokens(account: BrokerAccount) -> dict:
    """The live session's tokens, or {} when there is none or it has expired."""
    if not account.session_token_encrypted:
        return {}
    if account.session_expires_at and account.session_expires_at <= timezone.now():
        return {}
    return crypto.decrypt_json(account.session_token_encrypted)


def session_valid_at(account: BrokerAccount, moment: dt.datetime) -> bool:
    """Whether the stored session will still work at `moment` (paper accounts always do)."""
    if account.broker == "PAPER":
        return True
    if account.broker == "ANGELONE" and account.has_credentials and not account.last_error.startswith("session:"):
        return True  # the adapter logs in by itself from the TOTP secret; a refused login marks last_error
    return bool(account.session_token_encrypted) and bool(
        account.session_expires_at and account.session_expires_at > moment
    )


def session_lasts_today(account: BrokerAccount, *, now: dt.datetime) -> bool:
    """Whether the stored session outlives today's trading (16:00 IST): the morning login renews one that would
    end during the session instead of letting it lapse mid-day."""
    if not session_tokens(account):
        return False
    end = dt.datetime.combine(now.astimezone(IST).date(), TRADING_DAY_END, tzinfo=IST)
    return account.session_expires_at is None or account.session_expires_at > end


def session_save(
    *, account: BrokerAccount, tokens: dict, at: dt.datetime | None = None, expires_at: dt.datetime | None = None
) -> BrokerAccount:
    """Store a fresh login's tokens (encrypted) and their expiry (`expires_at`, else the broker's daily
    cut-off); the account is healthy again."""
    now = at or timezone.now()
    account.session_token_encrypted = crypto.encrypt_json(tokens)
    account.session_expires_at = expires_at or session_expiry(account.broker, at=now)
    account.last_ok_at = now
    account.last_error = ""
    if account.status == BrokerAccount.Status.ERROR:
        account.status = BrokerAccount.Status.ACTIVE
    account.save(
        update_fields=[
            "session_token_encrypted",
            "session_expires_at",
            "last_ok_at",
            "last_error",
            "status",
            "updated_at",
        ]
    )
    return account


def session_expire(*, account: BrokerAccount, detail: str) -> BrokerAccount:
    """The broker refused the session: forget it and say why (the account is skipped until a new login)."""
    account.session_token_encrypted = ""
    account.session_expires_at = None
    account.last_error = f"session: {detail}"[:500]
    account.save(update_fields=["session_token_encrypted", "session_expires_at", "last_error", "updated_at"])
    return account
