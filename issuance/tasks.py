"""Celery tasks: thin wrappers over issuance.services. A named refusal or an unreachable node is logged and
left for the next run (beat runs process_pending and watch_chains every few seconds); nothing is lost because
every step is recorded before the next begins."""
from __future__ import annotations

import logging

from celery import shared_task

from chain.errors import ChainError
from ledger.errors import DomainError

from . import services

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def process_mint(request_id: str) -> str:
    try:
        return services.process_mint(request_id).status
    except (DomainError, ChainError) as failure:
        log.warning("mint %s not advanced: %s", request_id, failure)
        return f"held: {getattr(failure, 'code', 'error')}"


@shared_task(acks_late=True)
def process_redeem(redeem_id: str) -> str:
    try:
        return services.process_redeem(redeem_id).status
    except (DomainError, ChainError) as failure:
        log.warning("redeem %s not advanced: %s", redeem_id, failure)
        return f"held: {getattr(failure, 'code', 'error')}"


@shared_task(acks_late=True)
def watch_chains() -> dict:
    summary = services.watch_chains()
    for network, why in summary.unavailable.items():
        log.warning("chain watcher: %s unavailable, resuming from the cursor next run: %s", network, why)
    return {"scanned": summary.deployments_scanned, "unexplained": summary.unexplained,
            "deposits": summary.deposits, "reorged_mints": summary.reorged_mints,
            "reorged_burns": summary.reorged_burns}


@shared_task(acks_late=True)
def process_pending() -> dict:
    """Take in pending ITN mints (when a broker is configured) and advance every open mint and redemption."""
    try:
        services.poll_itn_mints()
    except DomainError as failure:
        log.info("ITN poll skipped: %s", failure)
    mints = [_isolated(process_mint, "mint", request_id) for request_id in services.pending_mint_ids()]
    redeems = [_isolated(process_redeem, "redeem", redeem_id) for redeem_id in services.pending_redeem_ids()]
    return {"mints": len(mints), "redeems": len(redeems), "failed": (mints + redeems).count(FAILED)}


FAILED = "failed"


def _isolated(step, kind: str, item_id: str) -> str:
    """Run one item's step; an unexpected error is logged and counted, so one broken request cannot stall every
    later mint and redemption on every beat."""
    try:
        return step(item_id)
    except Exception:
        log.exception("%s %s failed unexpectedly; the other pending items go on", kind, item_id)
        return FAILED
