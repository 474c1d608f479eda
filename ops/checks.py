"""Readiness checks: can this process do its job right now? Each check answers quickly (short timeouts)
and never raises; the endpoint reports every check so operators see which dependency is down."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone


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
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    return CheckResult(name, ok, detail, round(time.perf_counter() - started, 4))


def _database() -> tuple[bool, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(position), 0) FROM ledger_event")
        return True, f"ledger head at position {cursor.fetchone()[0]}"


def _broker() -> tuple[bool, str]:
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1)
    client.ping()
    return True, "redis answers"


def _chains() -> tuple[bool, str]:
    from chain.rpc import connect

    networks = getattr(settings, "CHAIN_NETWORKS", {}) or {}
    if not networks:
        return True, "no networks configured"
    heads = []
    for name, network in networks.items():
        heads.append(f"{name}@{connect(network['rpc_url'], timeout_seconds=2).eth.block_number}")
    return True, ", ".join(heads)


def _custody_freshness() -> tuple[bool, str]:
    """The latest broker sync or statement must be younger than CUSTODY_MAX_AGE_HOURS (default 26)."""
    max_age = timedelta(hours=int(getattr(settings, "CUSTODY_MAX_AGE_HOURS", 26)))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT max(recorded_at) FROM ledger_event WHERE event_type IN ('positions_observed', 'statement_imported')"
        )
        latest = cursor.fetchone()[0]
    if latest is None:
        return False, "no broker sync or statement recorded yet"
    age = timezone.now() - latest
    return age <= max_age, f"latest custody observation {int(age.total_seconds())} s ago (limit {int(max_age.total_seconds())} s)"


READINESS_CHECKS = {
    "database": _database,
    "broker": _broker,
    "chain_rpc": _chains,
    "custody_freshness": _custody_freshness,
}


def run_readiness() -> list[CheckResult]:
    return [_timed(name, check) for name, check in READINESS_CHECKS.items()]
