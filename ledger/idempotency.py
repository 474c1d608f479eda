"""Idempotency = key + fingerprint of the request (Formance, Stripe). One mechanism for the event store and
the REST API: each caller picks a scope ("ledger.append", "api:<partner>") and the same table, unique on
(scope, key) and insert-only, remembers the first request's fingerprint and result.

Callers hold a lock that serializes requests with the same key (the ledger's append lock, or
`lock_key` for the API), so check-then-remember inside one transaction cannot race.
"""
from __future__ import annotations

from typing import Any

from . import canonical
from .errors import IdempotencyConflict
from .locks import transaction_lock
from .models import IdempotencyRecord


def fingerprint(request: Any) -> str:
    """SHA-256 over the canonical JSON of a request (decimals as strings, sorted keys)."""
    return canonical.sha256_hex(canonical.dumps(canonical.normalize_json(request, "request")))


def lock_key(scope: str, key: str) -> None:
    """Transaction-scoped lock on one (scope, key): a concurrent retry waits, then sees the first result."""
    transaction_lock(scope, key)


def lookup(scope: str, key: str, request_hash: str) -> dict[str, Any] | None:
    """The first result for this key, None if the key is new; IdempotencyConflict if the request differs."""
    record = IdempotencyRecord.objects.filter(scope=scope, key=key).only("request_hash", "result").first()
    if record is None:
        return None
    if record.request_hash != request_hash:
        raise IdempotencyConflict(f"idempotency key {key!r} was already used with a different request")
    return record.result


def remember(scope: str, key: str, request_hash: str, result: dict[str, Any]) -> None:
    IdempotencyRecord.objects.create(scope=scope, key=key, request_hash=request_hash, result=result)
