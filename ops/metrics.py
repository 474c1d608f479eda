"""Prometheus-style metrics. Counters live in Redis (INCR), so every web and worker process adds to the
same numbers; gauges are read from the database at scrape time."""
from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection

log = logging.getLogger(__name__)
HTTP_KEY = "shareledger:metrics:http_requests"
TASK_FAILURES_KEY = "shareledger:metrics:celery_task_failures"
_redis = None


def _client():
    global _redis
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=0.5, socket_timeout=0.5)
    return _redis


def count(key: str, field: str) -> None:
    """Best effort: a metrics outage must never fail a request or a task."""
    try:
        _client().hincrby(key, field, 1)
    except Exception as exc:  # noqa: BLE001 - metrics are advisory
        log.debug("metrics counter %s not updated: %s", key, exc)


def connect_celery_signals() -> None:
    from celery.signals import task_failure

    def on_failure(sender=None, **kwargs):
        count(TASK_FAILURES_KEY, getattr(sender, "name", "unknown"))

    task_failure.connect(on_failure, weak=False)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render() -> str:
    lines = [
        "# HELP shareledger_http_requests_total HTTP requests served, by method and status.",
        "# TYPE shareledger_http_requests_total counter",
    ]
    try:
        http = _client().hgetall(HTTP_KEY)
        failures = _client().hgetall(TASK_FAILURES_KEY)
    except Exception:  # noqa: BLE001
        http, failures = {}, {}
    for field, value in sorted(http.items()):
        method, status = field.decode().split(" ", 1)
        lines.append(f'shareledger_http_requests_total{{method="{_escape(method)}",status="{_escape(status)}"}} {int(value)}')
    lines += ["# HELP shareledger_celery_task_failures_total Celery task failures, by task.",
              "# TYPE shareledger_celery_task_failures_total counter"]
    for field, value in sorted(failures.items()):
        lines.append(f'shareledger_celery_task_failures_total{{task="{_escape(field.decode())}"}} {int(value)}')
    lines += _database_gauges()
    return "\n".join(lines) + "\n"


def _database_gauges() -> list[str]:
    lines = ["# HELP shareledger_ledger_head_position Position of the last event in the ledger.",
             "# TYPE shareledger_ledger_head_position gauge"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(position), 0) FROM ledger_event")
        lines.append(f"shareledger_ledger_head_position {cursor.fetchone()[0]}")
    for provider in _gauge_providers:
        lines += provider()
    return lines


_gauge_providers: list = []


def register_gauges(provider) -> None:
    """Apps add gauges (open breaks by severity, cycle-time percentiles...): provider() -> list of lines."""
    _gauge_providers.append(provider)
