"""A token bucket: at most ``rate`` things a second, shared by every process that uses it.

With ``REDIS_URL`` the bucket lives in Redis (one Lua script, atomic), so every worker and
every thread of every worker draws from the same one; on the embedded default (no Redis) it
lives in this process, shared by its threads.

A caller *reserves* a token and is told how long to wait for it (``take``): the bucket may go
below zero, which books the next slots in order, so many waiting callers are spaced exactly
``1 / rate`` apart instead of polling and racing each other.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from django.conf import settings


def default_capacity(rate: float) -> float:
    """A tenth of a second's worth saved up at most: no burst that a per-second limit (Stripe's)
    would refuse."""
    return max(1.0, rate / 10)


class TokenBucket(Protocol):
    rate: float

    def take(self) -> float:
        """Reserve one token; the seconds to wait before using it (0: now)."""
        ...


class LocalTokenBucket:
    """The bucket of one process, shared by its threads."""

    def __init__(self, rate: float, capacity: float | None = None) -> None:
        self.rate = rate
        self.capacity = capacity if capacity is not None else default_capacity(rate)
        self._tokens = self.capacity
        self._updated = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> float:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1
            return max(0.0, -self._tokens / self.rate)


# KEYS[1]: the bucket; ARGV: rate per second, capacity. The bucket is a hash of tokens and the
# time they were counted (Redis' own clock, the same for every client).
_TAKE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - at) * rate) - 1
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], 60000 + math.ceil(math.max(0, -tokens) / rate * 1000))
if tokens >= 0 then return '0' end
return tostring(-tokens / rate)
"""


class RedisTokenBucket:
    """The bucket every process shares, in Redis."""

    def __init__(self, name: str, rate: float, capacity: float | None = None) -> None:
        import redis

        self.key = f"partnerportal:token-bucket:{name}"
        self.rate = rate
        self.capacity = capacity if capacity is not None else default_capacity(rate)
        self._client = redis.Redis.from_url(settings.REDIS_URL)
        self._take = self._client.register_script(_TAKE)

    def take(self) -> float:
        return float(self._take(keys=[self.key], args=[self.rate, self.capacity]))


_buckets: dict[tuple[str, float], TokenBucket] = {}
_buckets_lock = threading.Lock()


def token_bucket(name: str, rate: float) -> TokenBucket:
    """The bucket ``name`` at ``rate`` a second: in Redis when ``REDIS_URL`` is set."""
    with _buckets_lock:
        bucket = _buckets.get((name, rate))
        if bucket is None:
            bucket = RedisTokenBucket(name, rate) if settings.REDIS_URL else LocalTokenBucket(rate)
            _buckets[(name, rate)] = bucket
        return bucket


def token_wait(bucket: TokenBucket) -> float:
    """Take a token from ``bucket``, sleeping until it may be used. Returns the seconds waited."""
    wait = bucket.take()
    if wait > 0:
        time.sleep(wait)
    return wait
