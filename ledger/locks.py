"""Transaction-scoped PostgreSQL advisory locks, one per (namespace, name): released by commit or rollback, so a
killed worker never leaves one behind. Every app serializes its own work with them; take them before appending,
so the ledger's append lock is always the last one a transaction waits for."""
from __future__ import annotations

from django.db import connection


def transaction_lock(namespace: str, name: str) -> None:
    """Block until this transaction holds the lock `name` of `namespace` (call inside transaction.atomic)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"{namespace}\x1f{name}"])
