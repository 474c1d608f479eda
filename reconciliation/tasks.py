"""Celery tasks (thin: they call reconciliation.runs). Beat runs `run_nightly_reconciliation` on the schedule
in settings (CELERY_BEAT_SCHEDULE["nightly-reconciliation"], RECONCILIATION_CRON_HOUR / _MINUTE)."""
from __future__ import annotations

import logging
from datetime import datetime

from celery import shared_task

from .errors import RunAlreadyInProgress
from .locks import full_run_running
from .runs import RunResult, run_reconciliation

log = logging.getLogger(__name__)

NIGHTLY_RETRY_SECONDS = 10 * 60
NIGHTLY_MAX_RETRIES = 5 * 3600 // NIGHTLY_RETRY_SECONDS  # the last retry starts well within the 6-hour expiry


def summary(result: RunResult) -> dict:
    return {"run_id": result.run_id, "status": result.status, "clean": result.clean,
            "instruments": len(result.instruments), "breaks": len(result.breaks),
            "new_breaks": len(result.new_breaks), "closed_breaks": len(result.closed_break_ids),
            "events_sha256": result.events_sha256}


@shared_task(bind=True)
def run_nightly_reconciliation(self) -> dict:
    """Reconcile every instrument. A full run still going from an earlier trigger covers tonight: this one is
    skipped. A run over some instruments only delays it: it is retried until that run ends, so the night is
    not lost to an on-demand run that happened to be going at the scheduled time."""
    try:
        return summary(run_reconciliation(actor="system:beat"))
    except RunAlreadyInProgress as busy:
        if full_run_running():
            log.warning("nightly reconciliation skipped: %s", busy.message)
            return {"skipped": busy.message}
        if self.request.retries >= NIGHTLY_MAX_RETRIES:
            log.error("nightly reconciliation NOT run tonight, still blocked after %s retries: %s",
                      self.request.retries, busy.message)
            return {"skipped": busy.message}
        log.info("nightly reconciliation retrying in %ss: %s", NIGHTLY_RETRY_SECONDS, busy.message)
        raise self.retry(countdown=NIGHTLY_RETRY_SECONDS, max_retries=NIGHTLY_MAX_RETRIES) from busy


@shared_task
def reconcile(instruments: list[str] | None = None, as_of: str | None = None, actor: str = "system:reconciliation") -> dict:
    """An on-demand run queued from the console or the API (see services.start_reconciliation)."""
    moment = datetime.fromisoformat(as_of) if as_of else None
    return summary(run_reconciliation(instruments, moment, actor=actor))
