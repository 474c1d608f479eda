"""Per-key rate limit: a fixed window counted in a shared cache (Redis), so every web worker sees one count.

A fixed window with an atomic INCR costs one round trip per request and cannot lose updates between
workers (a read-modify-write history list, DRF's default, can). The window restarts at each multiple of
its length; Retry-After is the time to the next window.
"""
from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import BaseThrottle

from .errors import RateLimited

PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


def parse_rate(rate: str) -> tuple[int, int]:
    """'600/min' -> (600, 60)."""
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period.strip().lower()]


class ApiKeyRateThrottle(BaseThrottle):
    """Limits each API key (by prefix) to API_RATE_LIMIT requests per window; public endpoints by client IP."""

    def allow_request(self, request, view) -> bool:
        limit, period = parse_rate(settings.API_RATE_LIMIT)
        who = f"key:{request.auth.prefix}" if request.auth is not None else f"ip:{self.get_ident(request)}"
        now = time.time()
        window = int(now // period)
        cache = caches[settings.API_THROTTLE_CACHE]
        cache_key = f"api-throttle:{who}:{period}:{window}"
        cache.add(cache_key, 0, timeout=period + 1)
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr: the window just ended
            cache.add(cache_key, 1, timeout=period + 1)
            count = 1
        if count > limit:
            retry_after = max(1, int((window + 1) * period - now + 0.999))
            raise RateLimited(f"more than {limit} requests per {period} s with this key; retry in {retry_after} s",
                              retry_after)
        return True
