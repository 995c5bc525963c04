"""The Broker protocol and the registry of adapters by broker name. SDKs are imported only in adapters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class BrokerError(Exception):
    """A broker refused or failed. permanent=True means retrying the same request cannot succeed."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


@dataclass(frozen=True)
class SessionHealth:
    ok: bool
    detail: str


class Broker(Protocol):
    name: str

    def check_session(self) -> SessionHealth: ...


_REGISTRY: dict[str, type] = {}


def register(name: str):
    def decorator(cls):
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorator


def adapter_for(account) -> Broker:
    """The adapter for a BrokerAccount (its credentials are decrypted only here)."""
    from . import paper  # noqa: F401  (registers itself)

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
