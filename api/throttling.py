"""Per-key rate limit: a fixed window counted in Redis, so every web worker sees one count.

One round trip per request: INCR and EXPIRE in a pipeline. An atomic INCR cannot lose updates between
workers (a read-modify-write history list, DRF's default, can). The window restarts at each multiple of its
length; Retry-After is the time to the next window.
"""
from __future__ import annotations

import threading
import time

import redis
from django.conf import settings
from rest_framework.throttling import BaseThrottle

from .errors import RateLimited

PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
_client: redis.Redis | None = None
_client_lock = threading.Lock()


def parse_rate(rate: str) -> tuple[int, int]:
    """'600/min' -> (600, 60)."""
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period.strip().lower()]


def _redis() -> redis.Redis:
    """One client (and connection pool) per process: building a client per request costs more than the call."""
    global _client
    with _client_lock:
        if _client is None:
            _client = redis.Redis.from_url(settings.API_THROTTLE_REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        return _client


class ApiKeyRateThrottle(BaseThrottle):
    """Limits each API key (by prefix) to API_RATE_LIMIT requests per window; public endpoints by client IP."""

    def allow_request(self, request, view) -> bool:
        limit, period = parse_rate(settings.API_RATE_LIMIT)
        who = f"key:{request.auth.prefix}" if request.auth is not None else f"ip:{self.get_ident(request)}"
        now = time.time()
        window = int(now // period)
        counter = f"shareledger:api-throttle:{who}:{period}:{window}"
        pipe = _redis().pipeline(transaction=False)
        pipe.incr(counter)
        pipe.expire(counter, period + 1)
        count, _ = pipe.execute()
        if count > limit:
            retry_after = max(1, int((window + 1) * period - now + 0.999))
            raise RateLimited(f"more than {limit} requests per {period} s with this key; retry in {retry_after} s",
                              retry_after)
        return True
