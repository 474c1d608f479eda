"""Transaction-scoped advisory locks (released by commit or rollback, so a killed worker never leaves one)."""
from __future__ import annotations

from django.db import connection


def lock(name: str) -> None:
    """Block until this transaction holds the lock called `name` (call inside transaction.atomic)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"corporate_actions\x1f{name}"])
