"""Celery tasks: thin wrappers over corporate_actions.services. A refusal or an unreachable node is logged and
left for the next call; every step is recorded before the next begins, so nothing is lost or paid twice."""
from __future__ import annotations

import logging

from celery import shared_task

from chain.errors import ChainError
from ledger.errors import DomainError

from . import services
from .models import PayoutRun

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def run_payout(run_id: str) -> str:
    try:
        return services.run_payout(run_id).status
    except (DomainError, ChainError) as failure:
        log.warning("payout run %s not advanced: %s", run_id, failure)
        return f"held: {getattr(failure, 'code', 'error')}"


@shared_task(acks_late=True)
def advance_payouts() -> dict[str, str]:
    """Every approved run not yet completed, advanced once (the beat runs this): a run whose worker died carries
    on from what the ledger recorded. Reinvest runs wait here until their shares are secured."""
    runs = PayoutRun.objects.filter(status__in=(PayoutRun.Status.APPROVED, PayoutRun.Status.PAYING)).exclude(
        kind=PayoutRun.Kind.REINVEST, shares_secured=False).order_by("created_at")
    return {run_id: run_payout(run_id) for run_id in runs.values_list("id", flat=True)}
