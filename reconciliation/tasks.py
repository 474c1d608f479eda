"""Celery tasks (thin: they call reconciliation.runs). Beat runs `run_nightly_reconciliation` on the schedule
in settings (CELERY_BEAT_SCHEDULE["nightly-reconciliation"], RECONCILIATION_CRON_HOUR / _MINUTE)."""
from __future__ import annotations

import logging
from datetime import datetime

from celery import shared_task

from .errors import RunAlreadyInProgress
from .runs import RunResult, run_reconciliation

log = logging.getLogger(__name__)


def summary(result: RunResult) -> dict:
    return {"run_id": result.run_id, "status": result.status, "clean": result.clean,
            "instruments": len(result.instruments), "breaks": len(result.breaks),
            "new_breaks": len(result.new_breaks), "closed_breaks": len(result.closed_break_ids),
            "events_sha256": result.events_sha256}


@shared_task
def run_nightly_reconciliation() -> dict:
    """Reconcile every instrument. A run still going from an earlier trigger wins; this one is skipped."""
    try:
        return summary(run_reconciliation(actor="system:beat"))
    except RunAlreadyInProgress as busy:
        log.warning("nightly reconciliation skipped: %s", busy.message)
        return {"skipped": busy.message}


@shared_task
def reconcile(instruments: list[str] | None = None, as_of: str | None = None, actor: str = "system:reconciliation") -> dict:
    """An on-demand run queued from the console or the API (see services.start_reconciliation)."""
    moment = datetime.fromisoformat(as_of) if as_of else None
    return summary(run_reconciliation(instruments, moment, actor=actor))
