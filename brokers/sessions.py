"""Broker sessions at rest: the tokens a login produced, encrypted like credentials, with their expiry.

Kite access tokens die at 06:00 IST the next morning; Angel One ends its sessions at midnight IST. A session
the broker refuses earlier is cleared here and recorded on the account (last_error), which is what the
readiness check, the dashboard and the session alerts read.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

from . import crypto
from .models import BrokerAccount

IST = ZoneInfo("Asia/Kolkata")
EXPIRY_TIME = {"ZERODHA": dt.time(6, 0), "ANGELONE": dt.time(0, 0)}


def session_expiry(broker: str, *, at: dt.datetime) -> dt.datetime:
    """When a session made at `at` stops working: the broker's next daily cut-off (IST), as UTC."""
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


def session_save(*, account: BrokerAccount, tokens: dict, at: dt.datetime | None = None) -> BrokerAccount:
    """Store a fresh login's tokens (encrypted) and their expiry; the account is healthy again."""
    now = at or timezone.now()
    account.session_token_encrypted = crypto.encrypt_json(tokens)
    account.session_expires_at = session_expiry(account.broker, at=now)
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
