"""Rate limits on what sends email to people: counters in Django's cache.

With ``REDIS_URL`` the cache is Redis, shared by every process, and a counter is one atomic
``INCR``; on the embedded default (no Redis) each process counts for itself. A limit is a setting
written ``"<count>/<period>"`` with the period ``s``, ``m``, ``h`` or ``d`` (``"3/h"``: three an
hour); ``"0/h"`` allows none. Windows are fixed (this hour, this day): at most twice the count
can pass around a window's edge, which is what a limit on emails needs, at one cache call each.

A counter is keyed by a hash of what it counts (an email address, an organization id), so the
cache holds no addresses. docs/abuse.md lists the limits and why each exists.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*([smhd])\s*$")


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        match = _RATE.match(text)
        if not match:
            raise ImproperlyConfigured(f"A rate limit is written like 3/h, not {text!r}.")
        return cls(count=int(match.group(1)), seconds=PERIODS[match.group(2)])


def _key(scope: str, subject: str, window: int) -> str:
    digest = hashlib.sha256(subject.strip().lower().encode()).hexdigest()[:32]
    return f"rate-limit:{scope}:{digest}:{window}"


def rate_limit_hit(*, scope: str, subject: str, rate: str) -> bool:
    """Count one more ``scope`` event for ``subject``; True when that goes over ``rate``.

    An event over the limit is counted too, so someone who keeps trying stays limited until the
    window ends.
    """
    limit = Rate.parse(rate)
    window = int(time.time() // limit.seconds)
    key = _key(scope, subject, window)
    # add() creates the counter with its expiry; incr() is atomic in Redis and LocMem alike.
    cache.add(key, 0, timeout=limit.seconds + 60)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: this is the window's first event
        cache.add(key, 1, timeout=limit.seconds + 60)
        count = 1
    return count > limit.count


def rate_limits_hit(*checks: tuple[str, str, str]) -> list[str]:
    """Count every ``(scope, subject, rate)`` check at once; the scopes that went over."""
    return [
        scope
        for scope, subject, rate in checks
        if rate_limit_hit(scope=scope, subject=subject, rate=rate)
    ]
