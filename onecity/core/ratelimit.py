"""Fixed-window rate limits on the shared cache (database cache, or Redis when REDIS_URL is set).

`ratelimit_hit("otp_send", key)` counts one attempt and raises RateLimited once the window's
budget (settings.ONECITY_RATE_LIMITS) is spent. Counting uses the cache's atomic incr, so
parallel web processes share one budget.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

from onecity.core.crypto import lookup_hash
from onecity.core.errors import RateLimited


def _bucket(scope: str, key: str, window: int) -> tuple[str, int]:
    now = int(time.time())
    start = now - now % window
    return f"rl:{scope}:{lookup_hash(key, purpose='ratelimit')[:32]}:{start}", start + window - now


def ratelimit_hit(scope: str, key: str) -> None:
    limit, window = settings.ONECITY_RATE_LIMITS[scope]
    name, retry_after = _bucket(scope, key, window)
    if cache.add(name, 1, timeout=window + 1):
        count = 1
    else:
        try:
            count = cache.incr(name)
        except ValueError:  # expired between add and incr
            cache.add(name, 1, timeout=window + 1)
            count = 1
    if count > limit:
        raise RateLimited(retry_after=retry_after)


def ratelimit_reset(scope: str, key: str) -> None:
    _, window = settings.ONECITY_RATE_LIMITS[scope]
    cache.delete(_bucket(scope, key, window)[0])
