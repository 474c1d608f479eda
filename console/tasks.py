"""Periodic console work (the lead adds the beat schedule): anchoring the ledger head, advancing the chain check."""
from __future__ import annotations

import logging

from celery import shared_task

from ledger.anchor import NothingToAnchor, anchor_head, configured_target
from ledger.store import head_position

from .chain_status import verify_through

log = logging.getLogger(__name__)


@shared_task(name="console.tasks.anchor_ledger")
def anchor_ledger() -> dict:
    """Publish the ledger head on chain when anything was appended since the last anchor."""
    target = configured_target()
    if target is None or target.signer is None:
        log.warning("ledger anchoring skipped: set LEDGER_ANCHOR_RPC_URL, LEDGER_ANCHOR_CONTRACT and LEDGER_ANCHOR_SIGNER_KEY")
        return {"status": "not_configured"}
    try:
        result = anchor_head(target.w3, target.signer, target.contract, network=target.network)
    except NothingToAnchor as nothing:
        return {"status": "nothing_to_anchor", "detail": nothing.message}
    log.info("ledger anchored at position %s in tx %s", result.position, result.tx_hash)
    return {"status": "anchored", "position": result.position, "tx_hash": result.tx_hash,
            "block_number": result.block_number, "event_position": result.event_position}


@shared_task(name="console.tasks.verify_ledger_chain")
def verify_ledger_chain() -> dict:
    """Verify the hash chain from the console's checkpoint up to the head, so event pages show "verified"
    without verifying inline."""
    status = verify_through(head_position(), limit=None)
    if status.broken_at is not None:
        log.error("ledger hash chain broken at position %s: %s", status.broken_at, status.problem)
    return {"verified_through": status.verified_through, "broken_at": status.broken_at, "problem": status.problem}
