"""Issuance's transaction-scoped locks (ledger.locks)."""
from __future__ import annotations

from ledger.locks import transaction_lock


def lock(name: str) -> None:
    """Block until this transaction holds the lock called `name` (call inside transaction.atomic)."""
    transaction_lock("issuance", name)
