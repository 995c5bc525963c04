"""Live quotes from Zerodha: a KiteTicker (websocket) FeedSource, with Kite's REST ltp as the fallback.

The feed loop asks `snapshot(instruments, now)` every second. The ticker subscribes, in full mode, to the Kite
tokens of what it is asked for (Instrument.broker_tokens["ZERODHA"], read when the set of ids changes) and
answers from its latest ticks (last price, best bid and ask, OI). Instruments with no tick younger than
`fresh_seconds` (the socket is down or has not ticked yet) are priced by one `ltp` call instead. KiteTicker
runs on Twisted's reactor in a daemon thread; it is closed, never stopped, so another can start later.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Sequence

from django.conf import settings

from market.feed import FeedInstrument, Tick
from market.models import Instrument

from . import sessions
from .adapters.base import BrokerError
from .adapters.live import broker_symbol, decimal
from .models import Broker, BrokerAccount

log = logging.getLogger(__name__)
LTP_BATCH = 500  # Kite answers up to 1,000 instruments per ltp call


class KiteFeed:
    def __init__(self, account: BrokerAccount, *, root: str | None = None, fresh_seconds: float = 5.0, socket=True):
        from .adapters.zerodha import ZerodhaBroker

        self.account = account
        self.broker = ZerodhaBroker(account)
        self.fresh_seconds = fresh_seconds
        self.lock = threading.Lock()
        self.latest: dict[int, tuple[float, dict]] = {}  # kite token -> (monotonic time, tick)
        self.tokens: dict[int, tuple[int, str, str]] = {}  # instrument id -> (kite token, exchange, symbol)
        self.subscribed: set[int] = set()
        self.connected = False
        self.ticker = None
        if socket:
            self._start_ticker(root or settings.KITE_TICKER_ROOT or None)

    # ---- the websocket -----------------------------------------------------------------------------------
    def _start_ticker(self, root):
        from kiteconnect import KiteTicker

        token = sessions.session_tokens(self.account).get("access_token")
        if not token:
            raise BrokerError(f"{self.account.client_id}: Zerodha is not connected; no live feed", permanent=True)
        ticker = KiteTicker(self.account.credentials["api_key"], token, root=root, reconnect=True)
        ticker.on_ticks = self._on_ticks
        ticker.on_connect = self._on_connect
        ticker.on_close = self._on_close
        self.ticker = ticker
        ticker.connect(threaded=True)

    def _on_connect(self, ws, response):
        self.connected = True
        with self.lock:
            tokens = list(self.subscribed)
        if tokens:
            ws.subscribe(tokens)
            ws.set_mode(ws.MODE_FULL, tokens)

    def _on_close(self, ws, code, reason):
        self.connected = False

    def _on_ticks(self, ws, ticks):
        now = time.monotonic()
        with self.lock:
            for tick in ticks:
                self.latest[int(tick["instrument_token"])] = (now, tick)

    def close(self):
        if self.ticker is not None:
            self.ticker.stop_retry()
            self.ticker.close()

    # ---- FeedSource --------------------------------------------------------------------------------------
    def _map(self, instruments: Sequence[FeedInstrument]) -> None:
        missing = [i.id for i in instruments if i.id not in self.tokens]
        if not missing:
            return
        for instrument in Instrument.objects.filter(pk__in=missing).only(
            "id", "exchange", "tradingsymbol", "broker_tokens"
        ):
            try:
                symbol, token = broker_symbol(instrument, Broker.ZERODHA)
            except BrokerError:
                continue
            if token.isdigit():
                self.tokens[instrument.pk] = (int(token), instrument.exchange, symbol)
        wanted = {self.tokens[i.id][0] for i in instruments if i.id in self.tokens}
        new = sorted(wanted - self.subscribed)
        if new:
            with self.lock:
                self.subscribed |= set(new)
            if self.ticker is not None and self.connected:
                self.ticker.subscribe(new)
                self.ticker.set_mode(self.ticker.MODE_FULL, new)

    def snapshot(self, instruments: Sequence[FeedInstrument], now: dt.datetime) -> list[Tick]:
        self._map(instruments)
        ticks, stale = [], []
        horizon = time.monotonic() - self.fresh_seconds
        with self.lock:
            latest = dict(self.latest)
        for instrument in instruments:
            mapped = self.tokens.get(instrument.id)
            if mapped is None:
                continue
            seen = latest.get(mapped[0])
            if seen is None or seen[0] < horizon:
                stale.append(instrument)
                continue
            tick = seen[1]
            depth = tick.get("depth") or {}
            bid = next((decimal(d["price"]) for d in depth.get("buy", []) if d.get("price")), None)
            ask = next((decimal(d["price"]) for d in depth.get("sell", []) if d.get("price")), None)
            ticks.append(
                Tick(instrument_id=instrument.id, ltp=decimal(tick["last_price"]), bid=bid, ask=ask, oi=tick.get("oi"))
            )
        if stale:
            ticks += self._ltp(stale)
        return ticks

    def _ltp(self, instruments: Sequence[FeedInstrument]) -> list[Tick]:
        """The fallback: one REST ltp call per LTP_BATCH instruments (last price only)."""
        ticks = []
        for start in range(0, len(instruments), LTP_BATCH):
            batch = instruments[start : start + LTP_BATCH]
            keys = {f"{self.tokens[i.id][1]}:{self.tokens[i.id][2]}": i.id for i in batch}
            try:
                prices = self.broker.ltp(list(keys))
            except BrokerError as exc:
                log.warning("Kite ltp fallback failed: %s", exc.message)
                return ticks
            ticks += [
                Tick(instrument_id=keys[key], ltp=price) for key, price in prices.items() if key in keys and price
            ]
        return ticks


def zerodha_feed_account() -> BrokerAccount | None:
    """An active Zerodha account with today's session, whose login the live feed can use."""
    for account in BrokerAccount.objects.filter(broker=Broker.ZERODHA, status=BrokerAccount.Status.ACTIVE).exclude(
        session_token_encrypted=""
    ):
        if sessions.session_tokens(account):
            return account
    return None


def live_feed_source():
    """A KiteFeed when a Zerodha account is connected, else None (the caller keeps the simulated feed)."""
    account = zerodha_feed_account()
    if account is None:
        return None
    try:
        return KiteFeed(account)
    except BrokerError as exc:
        log.warning("no live feed: %s", exc.message)
        return None
