"""Keeps the issuance read models in step with the log, inside each append's transaction.

Every event carries what its row change needs (ids, quantities, hashes), so a replay from empty tables after
`reset` rebuilds the same rows; stage timestamps are the events' recorded_at.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from django.db import connection

from custody.models import Instrument
from ledger.store import RecordedEvent

from .models import ChainAlert, ChainCursor, MintRequest, RedeemRequest, SignerNonce, TokenDeployment

STREAM_TYPES = ("token_deployment", "mint_request", "redeem_request", "signer", "chain_watch")
MintStatus = MintRequest.Status
RedeemStatus = RedeemRequest.Status


def _alert(event: RecordedEvent, kind: str, severity: str, detail: str, *, deployment_id: str | None,
           network: str, tx_hash: str = "", log_index: int | None = None) -> None:
    ChainAlert.objects.create(deployment_id=deployment_id, network=network, kind=kind, severity=severity,
                              tx_hash=tx_hash, log_index=log_index, detail=detail, position=event.position,
                              created_at=event.recorded_at)


def _reorged_alert(event: RecordedEvent, what: str, supply_change: str) -> None:
    """The critical alert of mint_reorged / burn_reorged: a transaction we counted left the chain."""
    data = event.payload
    _alert(event, event.event_type, ChainAlert.Severity.CRITICAL,
           f"{what} {event.stream_id} tx {data['tx_hash']} left the chain after confirmation at block "
           f"{data['block_number']}; {supply_change}, rebroadcasting", deployment_id=data["deployment_id"],
           network=data["network"], tx_hash=data["tx_hash"])


def _deployment(event: RecordedEvent) -> None:
    data = event.payload
    if event.event_type == "token_deployed":
        TokenDeployment.objects.create(
            id=event.stream_id, instrument=Instrument.objects.get(symbol=data["symbol"]), network=data["network"],
            chain_id=data["chain_id"], contract_address=data["contract_address"], token_symbol=data["token_symbol"],
            decimals=data["decimals"], deploy_tx_block=data["deploy_block"], deployed_at=event.recorded_at,
            stream_version=event.version)
    elif event.event_type == "token_deployment_retired":
        TokenDeployment.objects.filter(id=event.stream_id).update(status=TokenDeployment.Status.RETIRED,
                                                                  stream_version=event.version)


def _mint(event: RecordedEvent) -> None:
    data, at = event.payload, event.recorded_at
    if event.event_type == "mint_requested":
        MintRequest.objects.create(
            id=event.stream_id, partner_id=data["partner_id"], instrument=Instrument.objects.get(symbol=data["symbol"]),
            deployment_id=data["deployment_id"], network=data["network"], wallet_address=data["wallet_address"],
            qty=Decimal(data["qty"]), amount_base_units=Decimal(data["amount_base_units"]),
            qty_shares=Decimal(data["qty_shares"]), status=MintStatus.REQUESTED, source=data["source"],
            itn_request_id=data["itn_request_id"], requested_by=event.metadata["actor"],
            needs_second_approval=data["needs_second_approval"], custody_account=data["custody_account"],
            requested_at=at, stream_version=event.version)
        return
    changes: dict = {"stream_version": event.version}
    kind = event.event_type
    if kind == "mint_approved":
        changes.update(status=MintStatus.APPROVED, approved_by=data["approved_by"], approved_at=at)
    elif kind == "shares_secured":
        changes.update(status=MintStatus.SECURED, secured_via=data["via"], custody_account=data["custody_account"],
                       secured_at=at)
    elif kind == "mint_signed":
        changes.update(status=MintStatus.SIGNED, signer=data["signer"], nonce=data["nonce"], tx_hash=data["tx_hash"],
                       raw_tx=data["raw_tx"], signed_at=at)
    elif kind == "mint_broadcast":
        changes.update(status=MintStatus.BROADCAST)
        if data["first"]:
            changes["broadcast_at"] = at
    elif kind == "mint_confirmed":
        changes.update(status=MintStatus.CONFIRMED, block_number=data["block_number"], block_hash=data["block_hash"],
                       confirmed_at=at)
    elif kind == "mint_completed":
        changes.update(status=MintStatus.COMPLETED, reported_to_broker=data["reported_to_broker"], completed_at=at)
    elif kind == "mint_reincluded":
        changes.update(block_number=data["block_number"], block_hash=data["block_hash"])
    elif kind == "mint_reorged":
        changes.update(status=MintStatus.BROADCAST, block_number=None, block_hash="")
        _reorged_alert(event, "mint", "supply reversed")
    elif kind in ("mint_rejected", "mint_cancelled", "mint_failed"):
        status = {"mint_rejected": MintStatus.REJECTED, "mint_cancelled": MintStatus.CANCELLED,
                  "mint_failed": MintStatus.FAILED}[kind]
        changes.update(status=status, failure_code=data.get("code", kind.removeprefix("mint_")),
                       failure_reason=data["reason"], ended_at=at)
    MintRequest.objects.filter(id=event.stream_id).update(**changes)


def _redeem(event: RecordedEvent) -> None:
    data, at = event.payload, event.recorded_at
    if event.event_type == "redeem_requested":
        RedeemRequest.objects.create(
            id=event.stream_id, partner_id=data["partner_id"], instrument=Instrument.objects.get(symbol=data["symbol"]),
            deployment_id=data["deployment_id"], network=data["network"], from_address=data["from_address"],
            deposit_tx_hash=data["deposit_tx_hash"], deposit_log_index=data["deposit_log_index"],
            deposit_block=data["deposit_block"], qty=Decimal(data["qty"]),
            amount_base_units=Decimal(data["amount_base_units"]), qty_shares=Decimal(data["qty_shares"]),
            status=data["status"], source=data["source"], release_method=data["release_method"],
            custody_account=data["custody_account"], requested_at=at, stream_version=event.version)
        if data["status"] == RedeemStatus.HELD:
            why = data.get("held_because") or f"{data['from_address']} is no partner's allowlisted wallet"
            _alert(event, "redeem_held" if data.get("held_because") else "unknown_redeemer",
                   ChainAlert.Severity.WARNING,
                   f"{data['qty']} tokens arrived at the redemption wallet from {data['from_address']}: {why}; "
                   f"held as redeem {event.stream_id}", deployment_id=data["deployment_id"],
                   network=data["network"], tx_hash=data["deposit_tx_hash"], log_index=data["deposit_log_index"])
        return
    changes: dict = {"stream_version": event.version}
    kind = event.event_type
    if kind == "redeem_assigned":
        changes.update(status=RedeemStatus.RECEIVED, partner_id=data["partner_id"],
                       custody_account=data["custody_account"])
    elif kind == "redeem_release_method_set":
        changes.update(release_method=data["release_method"])
    elif kind == "burn_signed":
        changes.update(status=RedeemStatus.SIGNED, signer=data["signer"], nonce=data["nonce"], tx_hash=data["tx_hash"],
                       raw_tx=data["raw_tx"], signed_at=at)
    elif kind == "burn_broadcast":
        changes.update(status=RedeemStatus.BROADCAST)
        if data["first"]:
            changes["broadcast_at"] = at
    elif kind == "burn_confirmed":
        changes.update(status=RedeemStatus.BURNED, block_number=data["block_number"], block_hash=data["block_hash"],
                       burned_at=at)
    elif kind == "burn_reorged":
        changes.update(status=RedeemStatus.BROADCAST, block_number=None, block_hash="")
        _reorged_alert(event, "burn", "supply restored")
    elif kind == "shares_released":
        changes.update(status=RedeemStatus.COMPLETED, reported_to_broker=data["reported_to_broker"],
                       completed_at=at)
    elif kind == "redeem_failed":
        changes.update(status=RedeemStatus.FAILED, failure_code=data["code"], failure_reason=data["reason"],
                       ended_at=at)
    RedeemRequest.objects.filter(id=event.stream_id).update(**changes)


def _signer(event: RecordedEvent) -> None:
    data = event.payload
    SignerNonce.objects.update_or_create(
        id=event.stream_id,
        defaults={"network": data["network"], "address": data["address"], "next_nonce": data["nonce"] + 1,
                  "stream_version": event.version})
    if data.get("skipped_from") is not None:
        _alert(event, "nonce_skipped", ChainAlert.Severity.WARNING,
               f"signer {data['address']} had nonces {data['skipped_from']}..{data['nonce'] - 1} used outside "
               f"shareledger; continuing at {data['nonce']}", deployment_id=None, network=data["network"])


def _chain_watch(event: RecordedEvent) -> None:
    data = event.payload
    kind = event.event_type
    if kind in ("chain_scanned", "reorg_below_cursor"):
        ChainCursor.objects.update_or_create(
            deployment_id=event.stream_id,
            defaults={"block_number": data["cursor_block"], "block_hash": data["cursor_hash"],
                      "updated_at": event.recorded_at, "stream_version": event.version})
    if kind == "reorg_below_cursor":
        _alert(event, kind, ChainAlert.Severity.CRITICAL,
               f"block {data['block_number']} changed hash under the watcher's cursor; rescanning from "
               f"{data['cursor_block'] + 1}", deployment_id=event.stream_id, network=data["network"])
    elif kind in ("unexplained_mint_observed", "unexplained_burn_observed"):
        what = "minted to" if kind == "unexplained_mint_observed" else "burned from"
        _alert(event, kind.removesuffix("_observed"), ChainAlert.Severity.CRITICAL,
               f"{data['qty']} tokens {what} {data['holder']} by no request of ours (block {data['block_number']})",
               deployment_id=event.stream_id, network=data["network"], tx_hash=data["tx_hash"],
               log_index=data["log_index"])


APPLIERS: dict[str, Callable[[RecordedEvent], None]] = {
    "token_deployment": _deployment, "mint_request": _mint, "redeem_request": _redeem, "signer": _signer,
    "chain_watch": _chain_watch,
}


class IssuanceProjector:
    name = "issuance"
    stream_types = frozenset(APPLIERS)

    def apply(self, events: Sequence[RecordedEvent]) -> None:
        for event in events:
            applier = APPLIERS.get(event.stream_type)
            if applier is not None:
                applier(event)

    def reset(self) -> None:
        with connection.cursor() as cursor:
            for table in ("issuance_chainalert", "issuance_chaincursor", "issuance_signernonce",
                          "issuance_redeemrequest", "issuance_mintrequest", "issuance_tokendeployment"):
                cursor.execute(f"DELETE FROM {table}")
