"""Order rate limits per broker account, shared by every worker process (pyrate-limiter over Redis).

Each order-changing call (place, modify, cancel) takes one slot of its account's bucket before it is sent;
a call that would exceed any of the broker's rates waits for the slot instead. A broker's 429 means the request
was not processed, so the adapter waits for a slot again and resends it (never for a timeout: see adapters).
Without REDIS_URL (the embedded `make run`) the bucket lives in the process, which is then the only placer.
"""

from __future__ import annotations

import threading

from django.conf import settings
from pyrate_limiter import Duration, InMemoryBucket, Limiter, Rate, RedisBucket
from pyrate_limiter.buckets.redis_bucket import LuaScript

from .adapters.base import BrokerError

# Kite Connect: 10 orders/s, 400/min, 5,000/day per user. SmartAPI: 20 orders/s, 500/min. Each window is a
# little longer than the broker's so that jitter between our clock and the broker's arrival never puts one
# order too many into the broker's second (or minute).
SECOND = Duration.SECOND + 100
MINUTE = Duration.MINUTE + 1000
ORDER_RATES = {
    "ZERODHA": [Rate(10, SECOND), Rate(400, MINUTE), Rate(5000, Duration.DAY)],
    "ANGELONE": [Rate(20, SECOND), Rate(500, MINUTE)],
}

# pyrate-limiter counts a window's items up to the caller's own clock reading. Two processes read their clocks,
# then run the script in either order, so the later script can miss an item stamped a few microseconds "ahead"
# and admit one too many. Counting every item from the window's start on (+inf) closes that gap.
SHARED_PUT_ITEM = LuaScript.PUT_ITEM.replace(
    "redis.call('ZCOUNT', bucket, window_start, now)", "redis.call('ZCOUNT', bucket, window_start, '+inf')"
)
assert SHARED_PUT_ITEM != LuaScript.PUT_ITEM, "pyrate-limiter's Redis script changed; review SharedRedisBucket"


class SharedRedisBucket(RedisBucket):
    @classmethod
    def init(cls, rates, redis, bucket_key, algorithm=None):
        return cls(rates, redis, bucket_key, redis.script_load(SHARED_PUT_ITEM), algorithm)


_limiters: dict[tuple, Limiter] = {}
_lock = threading.Lock()


def _redis():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


def bucket_key(broker: str, account_id) -> str:
    return f"ratelimit:orders:{broker}:{account_id}"


def _limiter(broker: str, account_id) -> Limiter:
    key = (settings.REDIS_URL, broker, str(account_id))
    with _lock:
        limiter = _limiters.get(key)
        if limiter is None:
            rates = ORDER_RATES[broker]
            if settings.REDIS_URL:
                bucket = SharedRedisBucket.init(rates, _redis(), bucket_key(broker, account_id))
            else:
                bucket = InMemoryBucket(rates)
            limiter = _limiters[key] = Limiter(bucket)
        return limiter


def order_slot(account, *, timeout: float | None = None) -> None:
    """Wait for the account's next order slot; BrokerError (not sent) when none frees up within `timeout`."""
    if account.broker not in ORDER_RATES:
        return
    wait = settings.BROKER_RATE_LIMIT_WAIT if timeout is None else timeout
    if not _limiter(account.broker, account.pk).try_acquire(str(account.pk), timeout=wait):
        raise BrokerError(
            f"{account.client_id}: the broker's order rate limit left no slot within {wait:g} s; not sent"
        )
