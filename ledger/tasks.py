"""Periodic ledger work run by Celery beat."""
from __future__ import annotations

from celery import shared_task

from .snapshots import take_snapshots


@shared_task(name="ledger.tasks.take_balance_snapshots")
def take_balance_snapshots() -> dict:
    """Keep point-in-time balance reads short: snapshot busy accounts at each boundary the log passed."""
    return {"snapshots": take_snapshots()}
