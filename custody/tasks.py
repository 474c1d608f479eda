"""Celery tasks of the custody app (thin: they call custody.sync)."""
from __future__ import annotations

import logging

from celery import shared_task

from ledger.errors import DomainError

from .errors import CustodySyncFailed
from .sync import alpaca_accounts, sync_account

log = logging.getLogger(__name__)


@shared_task
def sync_custody_accounts(account: str | None = None) -> dict[str, dict]:
    """Sync one Alpaca custody account, or all of them (the beat schedule runs this). Every account is tried
    even when an earlier one fails; the task then fails naming each failure, so the next run retries them."""
    results: dict[str, dict] = {}
    failures: dict[str, str] = {}
    for custody_account in alpaca_accounts(account):
        try:
            report = sync_account(custody_account)
        except DomainError as error:
            log.error("custody sync of %s failed: %s", custody_account.name, error.message)
            failures[custody_account.name] = error.message
            continue
        results[custody_account.name] = {"orders_recorded": report.orders_recorded,
                                         "activities_recorded": report.activities_recorded,
                                         "positions_observed": report.positions_observed}
    if failures:
        raise CustodySyncFailed("; ".join(f"{name}: {message}" for name, message in failures.items()))
    return results
