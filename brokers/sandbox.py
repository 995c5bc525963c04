"""BROKER_SANDBOX=1: the live path without a broker account.

`run_platform` starts the loopback Kite and SmartAPI fakes (SANDBOX_KITE_PORT, SANDBOX_ANGEL_PORT), settings
point the adapters at them, and `sandbox_prepare` gives them the platform's contracts as broker dumps, loads
those back through `load_instruments`' broker path (the SDKs), and adds two live accounts for the demo trader:
KITE-SANDBOX (Zerodha: press Connect Zerodha; the fake's login page logs straight in and comes back) and
ANGEL-SANDBOX (Angel One: logs itself in from a TOTP secret the fake knows). Kite postbacks come back to the
platform's webhook. Nothing here runs unless BROKER_SANDBOX is set.
"""

from __future__ import annotations

import datetime as dt

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from market.calendar import EXCHANGE_TZ
from market.models import Instrument

from . import instruments
from .fakes.dumps import angel_scrip_master, kite_csv
from .fakes.process import FakeProcess
from .models import BrokerAccount

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # the sandbox fake's; never a real account's
KITE_CREDENTIALS = {"api_key": "sandbox_api_key", "api_secret": "sandbox_api_secret"}
ANGEL_CREDENTIALS = {
    "api_key": "sandbox_angel_key",
    "client_code": "S123456",
    "pin": "1234",
    "totp_secret": TOTP_SECRET,
}


def sandbox_start(*, platform_url: str, owner_username: str = "demo", out=print) -> list[FakeProcess]:
    """Start both fakes and prepare them; returns the processes (the caller stops them)."""
    kite = FakeProcess(
        "kite",
        "--api-key",
        KITE_CREDENTIALS["api_key"],
        "--api-secret",
        KITE_CREDENTIALS["api_secret"],
        "--redirect-url",
        f"{platform_url}/brokers/zerodha/callback/",
        "--postback-url",
        f"{platform_url}/brokers/zerodha/postback/",
        port=settings.SANDBOX_KITE_PORT,
    )
    angel = FakeProcess(
        "angel",
        "--api-key",
        ANGEL_CREDENTIALS["api_key"],
        "--client-code",
        ANGEL_CREDENTIALS["client_code"],
        "--pin",
        ANGEL_CREDENTIALS["pin"],
        "--totp-secret",
        TOTP_SECRET,
        port=settings.SANDBOX_ANGEL_PORT,
    )
    try:
        sandbox_prepare(kite=kite, angel=angel, owner_username=owner_username, out=out)
    except Exception:
        kite.stop()
        angel.stop()
        raise
    return [kite, angel]


def sandbox_prepare(*, kite: FakeProcess, angel: FakeProcess, owner_username: str = "demo", out=print) -> None:
    options = Instrument.objects.filter(kind=Instrument.Kind.OPTION, active=True)
    contracts = [
        {
            "underlying": i.underlying,
            "expiry": i.expiry,
            "strike": i.strike,
            "option_type": i.option_type,
            "exchange": i.exchange,
            "lot_size": i.lot_size,
            "tradingsymbol": i.tradingsymbol,
        }  # fmt: skip
        for i in options
    ]
    indices = [
        {"exchange": i.exchange, "tradingsymbol": i.tradingsymbol}
        for i in Instrument.objects.filter(kind=Instrument.Kind.INDEX)
    ]
    by_exchange: dict[str, list] = {}
    for contract in contracts:
        by_exchange.setdefault(contract["exchange"], []).append(contract)
    dumps = {exchange: kite_csv(rows) for exchange, rows in by_exchange.items()}
    for exchange in ("NSE", "BSE"):
        dumps[exchange] = kite_csv([], [i for i in indices if i["exchange"] == exchange])
    requests.post(f"{kite.url}/_control", json={"instruments_csv": dumps}, timeout=30).raise_for_status()
    requests.post(
        f"{angel.url}/_control", json={"scrip_master": angel_scrip_master(contracts, indices)}, timeout=30
    ).raise_for_status()
    today = timezone.now().astimezone(EXCHANGE_TZ).date()
    as_of = today - dt.timedelta(days=1)
    instruments.load_zerodha_instruments(as_of=as_of, out=out)
    instruments.load_angelone_instruments(as_of=as_of, out=out)
    owner = get_user_model().objects.filter(username=owner_username).first()
    if owner is None:
        out(f"sandbox: no user {owner_username!r}; add the sandbox accounts yourself")
        return
    for client_id, broker, credentials, algo_id in (
        ("KITE-SANDBOX", "ZERODHA", KITE_CREDENTIALS, "SANDBOX01"),
        ("ANGEL-SANDBOX", "ANGELONE", ANGEL_CREDENTIALS, ""),
    ):
        account, _ = BrokerAccount.objects.get_or_create(
            owner=owner, client_id=client_id, defaults={"broker": broker, "name": f"{broker.title()} sandbox"}
        )
        account.broker, account.algo_id, account.credentials = broker, algo_id, credentials
        account.session_token_encrypted, account.session_expires_at = "", None  # the fakes are new each run
        account.save()
    out(f"sandbox: Kite fake {kite.url}, SmartAPI fake {angel.url}; accounts KITE-SANDBOX, ANGEL-SANDBOX")
