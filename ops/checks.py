"""Readiness checks: can this process do its job right now? Each check answers quickly (short timeouts)
and never raises; the endpoint reports every check so operators see which dependency is down.

Only dependencies belong here, not the age of business data: a web process serves fine while custody data is
stale, and reconciliation reports a stale source as a break."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    seconds: float


def _timed(name: str, check) -> CheckResult:
    started = time.perf_counter()
    try:
        ok, detail = check()
    except Exception as exc:  # a readiness probe reports failures, it does not raise them
        # /readyz is public and a failure's text carries URLs (an RPC provider's key, a Redis password): the
        # response names the failure's class, the log (masked) tells operators the rest.
        log.warning("readiness check %s failed", name, exc_info=True)
        ok, detail = False, type(exc).__name__
    return CheckResult(name, ok, detail, round(time.perf_counter() - started, 4))


def _database() -> tuple[bool, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(position), 0) FROM ledger_event")
        return True, f"ledger head at position {cursor.fetchone()[0]}"


def _ping_redis(url: str) -> tuple[bool, str]:
    import redis

    redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    return True, "redis answers"


def _broker() -> tuple[bool, str]:
    return _ping_redis(settings.CELERY_BROKER_URL)


def _throttle_store() -> tuple[bool, str]:
    """API rate limits live in Redis too, in a separate instance when API_THROTTLE_REDIS_URL says so."""
    if settings.API_THROTTLE_REDIS_URL == settings.CELERY_BROKER_URL:
        return True, "same redis as the broker"
    return _ping_redis(settings.API_THROTTLE_REDIS_URL)


def _chains() -> tuple[bool, str]:
    from chain.rpc import connect

    networks = getattr(settings, "CHAIN_NETWORKS", {}) or {}
    if not networks:
        return True, "no networks configured"
    heads = []
    for name, network in networks.items():
        heads.append(f"{name}@{connect(network['rpc_url'], timeout_seconds=2).eth.block_number}")
    return True, ", ".join(heads)


READINESS_CHECKS = {
    "database": _database,
    "broker": _broker,
    "throttle_store": _throttle_store,
    "chain_rpc": _chains,
}


def run_readiness() -> list[CheckResult]:
    return [_timed(name, check) for name, check in READINESS_CHECKS.items()]
