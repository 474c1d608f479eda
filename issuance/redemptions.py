"""Redemptions (stream redeem_request/<id>): tokens arrive at the redemption wallet, we burn them, the shares
go back to the partner.

    redeem_requested (received | held) -> [redeem_release_method_set] [redeem_assigned] -> burn_signed
    -> burn_broadcast -> burn_confirmed -> shares_released;  or redeem_failed; burn_reorged (by the chain
    watcher, or by final_burn for a burn whose block was already past the reorg window) sends a burn back to
    broadcast.

Shares are released only once the burn is older than the network's reorg window, the blocks in which the watcher
re-checks burns: a burn undone after the shares left would leave the partner both.

A deposit is identified by (token deployment, tx hash, ordinal among that transaction's transfers of the token into
the redemption wallet) and its redeem id is derived from it, so the watcher seeing the transfer and the partner
filing it with the tx hash can only ever create one redemption (a filing also finds one recorded under the earlier
id of (network, tx hash, log index)). Not by the block-wide log index: a reorg can put the same transaction back
at another place in a block. The watcher records the journal release method; the partner's first filing of that
deposit may choose another until the burn is signed. A transfer from a wallet no partner has allowlisted, or of
tokens that are not an exact number of shares, is recorded as `held` (and alerted), never dropped.
Postings: burn_confirmed chain:<net>:<SYM>:supply +shares / partner:<id>:pending-redeem:<SYM> -shares;
shares_released partner:<id>:pending-redeem:<SYM> +shares / suspense:outgoing-journal:<account>:<SYM> -shares
(journaled back at a broker, whose sync then books custody:<account>:<SYM> -shares against it; custody:<account>:<SYM>
itself at a statement custodian) or market:<account>:<SYM> -shares (sold).
"""
from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from chain.errors import BroadcastRejected, NonceAlreadyUsed
from chain.reads import TransferLog, transfer_logs
from chain.tx import TxState, broadcast, gas_params_from_head, id_to_bytes32, receipt_status, sign_burn_from_redemption
from custody.models import Instrument
from ledger import store
from ledger.errors import ConcurrencyError
from ledger.store import NewEvent, StreamAppend
from partners.addresses import ZERO_ADDRESS, checksum_address
from partners.models import Partner, Wallet
from partners.services import get_partner

from . import chain_client, nonces, signers
from .crashpoints import crash_point
from .errors import (BurnNotFinal, DepositNotFound, DepositNotWholeShares, InvalidQuantity, InvalidState,
                     RedeemAlreadyFiled, SharesPending, TokenNotDeployed, UnknownRequest, WalletNotAllowlisted)
from .locks import lock
from .models import RedeemRequest, TokenDeployment
from .quantities import from_base_units, parse_qty, shares_rounded_down, to_shares
from .services import (
    RECEIPT_POLL_SECONDS,
    SYSTEM_ACTOR,
    _move,
    get_instrument,
    journal_counter_account,
    market_account,
    pending_redeem_account,
    supply_account,
)

Status = RedeemRequest.Status
TX_HASH = re.compile(r"^0x[0-9a-f]{64}$")
DEPOSIT_NAMESPACE = uuid.UUID("0b7c4f7e-2f55-4d8e-9b1e-6a0c1d2e3f40")


def redeem_id_for(deployment_id: str, tx_hash: str, ordinal: int) -> str:
    """`ordinal`: the deposit's place among the transaction's transfers of this token into the redemption wallet
    (0 for the usual single one), which stays the same wherever a reorg re-includes the transaction."""
    return str(uuid.uuid5(DEPOSIT_NAMESPACE, f"{deployment_id}:{tx_hash}:{ordinal}"))


def get_redeem(redeem_id: str) -> RedeemRequest:
    redeem = (RedeemRequest.objects.select_related("partner", "instrument", "deployment")
              .filter(id=redeem_id).first())
    if redeem is None:
        raise UnknownRequest(f"no redeem request {redeem_id!r}")
    return redeem


def _redemption_wallet() -> str:
    return checksum_address(settings.REDEMPTION_WALLET)


def deposit_event(deployment: TokenDeployment, transfer: TransferLog, partner: Partner | None, source: str,
                  release_method: str = "journal", *, ordinal: int = 0, held_because: str = "") -> tuple[str, NewEvent]:
    """The redeem_requested event for a Transfer into the redemption wallet, held when `partner` is None or
    `held_because` says why; `ordinal` as in redeem_id_for (a partner files the transaction's first deposit).
    InvalidQuantity when the tokens are not an exact number of shares, unless held: the watcher holds such a
    deposit for operations (its shares rounded down) rather than lose it."""
    qty = from_base_units(transfer.value, deployment.decimals)
    tokens_per_share = deployment.instrument.tokens_per_share
    qty_shares = shares_rounded_down(qty, tokens_per_share) if held_because else to_shares(qty, tokens_per_share)
    held = partner is None or bool(held_because)
    return redeem_id_for(deployment.id, transfer.tx_hash, ordinal), NewEvent("redeem_requested", {
        "partner_id": partner.id if partner else None, "symbol": deployment.instrument.symbol,
        "network": deployment.network, "deployment_id": deployment.id, "from_address": transfer.from_address,
        "deposit_tx_hash": transfer.tx_hash, "deposit_log_index": transfer.log_index,
        "deposit_block": transfer.block_number, "qty": qty, "amount_base_units": str(transfer.value),
        "qty_shares": qty_shares, "status": Status.HELD.value if held else Status.RECEIVED.value,
        "held_because": held_because, "source": source, "release_method": release_method,
        "custody_account": (partner.custody_account if partner else "") or settings.ISSUANCE_CUSTODY_ACCOUNT,
    })


def request_redeem(partner: Partner | str, symbol: str, network: str, tx_hash: str, actor: str, *,
                   qty: Decimal | str | None = None, release_method: str = "journal") -> RedeemRequest:
    """A partner files the transfer of its tokens to the redemption wallet. Verified against the chain: the
    transaction must hold a Transfer of this token from one of the partner's allowlisted wallets to the
    redemption wallet. Filing the same deposit again returns the same redemption, unless it asks for another
    release method (RedeemAlreadyFiled: the recorded one stands). A deposit the chain watcher recorded first takes
    the method of the partner's first filing while it is not yet burning (redeem_release_method_set)."""
    partner = partner if isinstance(partner, Partner) else get_partner(partner)
    instrument = get_instrument(symbol)
    deployments = redeemable_deployments(instrument, network)
    tx_hash = str(tx_hash).lower()
    if not TX_HASH.match(tx_hash):
        raise DepositNotFound(f"{tx_hash!r} is not a transaction hash")
    if release_method not in ("journal", "sell"):
        raise InvalidState(f"shares are released by journal or sell, not {release_method!r}")
    w3 = chain_client.web3_for(chain_client.network(network))
    deployment, deposits = _deposits(w3, deployments, tx_hash, _receipt_block(w3, tx_hash))
    if not deposits:
        raise DepositNotFound(f"transaction {tx_hash} moved no {deployment.token_symbol} to the redemption wallet")
    deposit = deposits[0]
    owner_wallets = set(Wallet.objects.filter(partner=partner, network=network, status=Wallet.Status.ALLOWLISTED)
                        .values_list("address", flat=True))
    if deposit.from_address not in owner_wallets:
        raise WalletNotAllowlisted(f"{deposit.from_address} is not an allowlisted wallet of {partner.id} on {network}")
    if qty is not None and parse_qty(qty, deployment.decimals) != from_base_units(deposit.value, deployment.decimals):
        raise InvalidQuantity(f"the transfer moved {from_base_units(deposit.value, deployment.decimals)} tokens, not {qty}")
    redeem_id, event = deposit_event(deployment, deposit, partner, "partner", release_method)
    with transaction.atomic():
        lock(f"redeem:{redeem_id}")  # the same deposit filed twice at once: the second waits and finds the first
        existing = _redemption_of_deposit(redeem_id, deployment, tx_hash)
        if existing is None:
            existing = _record_filing(redeem_id, event, {"actor": actor, "partner": partner.id})
        if existing is None:
            return get_redeem(redeem_id)
        if _release_method_open(existing):
            store.append("redeem_request", existing.id, [NewEvent("redeem_release_method_set", {
                "release_method": release_method, "partner_id": partner.id})],
                metadata={"actor": actor, "partner": partner.id}, expected_version=existing.stream_version)
            existing = get_redeem(existing.id)
        elif existing.release_method != release_method:
            raise RedeemAlreadyFiled(f"deposit {tx_hash} was already filed with release method "
                                     f"{existing.release_method!r}, not {release_method!r}")
        if existing.status == Status.HELD:
            return assign_held_redeem(existing.id, partner.id, actor)
        return existing


def _redemption_of_deposit(redeem_id: str, deployment: TokenDeployment, tx_hash: str) -> RedeemRequest | None:
    """The redemption of a transaction's first deposit, whatever its id: one recorded before the id was derived
    from (deployment, tx hash, ordinal) has the id of (network, tx hash, log index)."""
    return (RedeemRequest.objects.filter(id=redeem_id).first()
            or RedeemRequest.objects.filter(deployment=deployment, deposit_tx_hash=tx_hash)
            .order_by("deposit_log_index").first())


def _release_method_open(redeem: RedeemRequest) -> bool:
    """The partner's first filing of a deposit the chain watcher recorded (with the default method) chooses its
    release method, until the burn is signed; after that, or once the partner chose, the method stands."""
    return (redeem.source == "chain" and redeem.status in (Status.RECEIVED, Status.HELD)
            and not any(event.event_type == "redeem_release_method_set"
                        for event in store.read_stream("redeem_request", redeem.id)))


def _record_filing(redeem_id: str, event: NewEvent, metadata: dict) -> RedeemRequest | None:
    """Record a partner's filing: None once it is recorded, or the redemption the chain watcher recorded for
    the same deposit in the meantime (the watcher takes no per-deposit lock, so the filing's append is stale)."""
    try:
        store.append("redeem_request", redeem_id, [event], metadata=metadata, expected_version=0)
    except ConcurrencyError:
        return get_redeem(redeem_id)
    return None


def redeemable_deployments(instrument: Instrument, network: str) -> list[TokenDeployment]:
    """The instrument's tokens on `network`, the active one first: tokens of a retired deployment stay redeemable
    (retiring stops minting only)."""
    chain_client.network(network)  # UnknownNetwork first: a typo is not "not deployed"
    deployments = sorted(TokenDeployment.objects.filter(instrument=instrument, network=network),
                         key=lambda deployment: deployment.status != TokenDeployment.Status.ACTIVE)
    if not deployments:
        raise TokenNotDeployed(f"{instrument.symbol} has no token on {network}")
    return deployments


def _deposits(w3, deployments: list[TokenDeployment], tx_hash: str,
              block: int) -> tuple[TokenDeployment, list[TransferLog]]:
    """The deployment whose tokens the transaction moved into the redemption wallet, and those transfers as the
    watcher counts them (a mint is no deposit); none: the first deployment, for the refusal."""
    wallet = _redemption_wallet()
    for deployment in deployments:
        deposits = [log for log in transfer_logs(w3, deployment.contract_address, block, block)
                    if log.tx_hash == tx_hash and log.to_address == wallet and log.from_address != ZERO_ADDRESS]
        if deposits:
            return deployment, deposits
    return deployments[0], []


def _receipt_block(w3, tx_hash: str) -> int:
    from web3.exceptions import TransactionNotFound

    try:
        return w3.eth.get_transaction_receipt(tx_hash)["blockNumber"]
    except TransactionNotFound:
        raise DepositNotFound(f"transaction {tx_hash} is not on chain (yet)") from None


def assign_held_redeem(redeem_id: str, partner_id: str, actor: str) -> RedeemRequest:
    """Operations decide whose held deposit this is; it then proceeds like any redemption. Not one held because
    its tokens are not an exact number of shares (DepositNotWholeShares): those go back to the sender."""
    redeem = get_redeem(redeem_id)
    if redeem.status != Status.HELD:
        raise InvalidState(f"redeem {redeem_id} is {redeem.status}, not held")
    held_because = store.read_stream("redeem_request", redeem_id)[0].payload.get("held_because")
    if held_because:  # the burn would destroy every token but release only the whole shares
        raise DepositNotWholeShares(
            f"redeem {redeem_id} cannot proceed: {held_because}. Its {redeem.qty} tokens must be returned to the "
            f"sender {redeem.from_address}, which operations do outside shareledger")
    partner = get_partner(partner_id)
    store.append("redeem_request", redeem_id, [NewEvent("redeem_assigned", {
        "partner_id": partner.id, "custody_account": partner.custody_account or settings.ISSUANCE_CUSTODY_ACCOUNT})],
        metadata={"actor": actor, "partner": partner.id}, expected_version=redeem.stream_version)
    return get_redeem(redeem_id)


def _append(redeem: RedeemRequest, events: list[NewEvent], actor: str = SYSTEM_ACTOR) -> RedeemRequest:
    store.append("redeem_request", redeem.id, events, metadata={"actor": actor, "partner": redeem.partner_id},
                 expected_version=redeem.stream_version)
    return get_redeem(redeem.id)


def process_redeem(redeem_id: str, *, wait_seconds: Decimal | float | None = None) -> RedeemRequest:
    """Advance a redemption as far as it can go now (same guarantees as process_mint)."""
    wait = Decimal(str(settings.ISSUANCE_RECEIPT_WAIT_SECONDS if wait_seconds is None else wait_seconds))
    deadline = time.monotonic() + float(wait)
    while True:
        redeem = get_redeem(redeem_id)
        network = chain_client.network(redeem.network)
        w3 = chain_client.web3_for(network)
        if redeem.status == Status.RECEIVED:
            deposit = receipt_status(w3, redeem.deposit_tx_hash, network.confirmations)
            if deposit.state == TxState.REVERTED or (deposit.state == TxState.NOT_FOUND
                                                     and _deposit_gone_for_good(redeem, network, w3)):
                return _append(redeem, [NewEvent("redeem_failed", {
                    "code": "deposit_not_found", "reason": f"deposit {redeem.deposit_tx_hash} is {deposit.state}"})])
            if deposit.state in (TxState.PENDING, TxState.NOT_FOUND):
                if time.monotonic() >= deadline:
                    return redeem
                time.sleep(RECEIPT_POLL_SECONDS)
                continue
            _sign_burn(redeem, network, w3)
        elif redeem.status == Status.SIGNED:
            _broadcast(redeem, w3, reason="signed")
        elif redeem.status == Status.BROADCAST:
            state = receipt_status(w3, redeem.tx_hash, network.confirmations)
            if state.state == TxState.CONFIRMED:
                symbol = redeem.instrument.symbol
                _append(redeem, [NewEvent("burn_confirmed", {
                    "tx_hash": redeem.tx_hash, "block_number": state.block_number, "block_hash": state.block_hash,
                    "qty_shares": redeem.qty_shares},
                    postings=_move(supply_account(redeem.network, symbol),
                                   pending_redeem_account(redeem.partner_id, symbol), symbol, redeem.qty_shares))])
            elif state.state == TxState.REVERTED:
                return _append(redeem, [NewEvent("redeem_failed", {
                    "code": "burn_reverted", "reason": f"burn {redeem.tx_hash} reverted in block {state.block_number}"})])
            elif state.state == TxState.NOT_FOUND:
                _broadcast(redeem, w3, reason="not_found")
                if time.monotonic() >= deadline:
                    return get_redeem(redeem_id)
            elif time.monotonic() >= deadline:
                return redeem
            else:
                time.sleep(RECEIPT_POLL_SECONDS)
        elif redeem.status == Status.BURNED:
            if _burn_final(redeem, network, w3):
                if not _release(redeem, FinalBurn(redeem.id)):
                    return get_redeem(redeem_id)
            elif get_redeem(redeem_id).status == Status.BURNED:  # else reversed: it is broadcast again
                return get_redeem(redeem_id)
        else:
            return redeem


def _deposit_gone_for_good(redeem: RedeemRequest, network: chain_client.Network, w3) -> bool:
    """A deposit not found may come back (a reorg re-includes it, a lagging node catches up) until its block is
    older than the network's reorg window."""
    return redeem.deposit_block < chain_client.reorg_window_start(network, chain_client.head_block(w3))


def _sign_burn(redeem: RedeemRequest, network, w3) -> None:
    burner = signers.signer("burner", network.name)
    gas = gas_params_from_head(w3, settings.ISSUANCE_GAS_LIMIT)
    chain_pending = w3.eth.get_transaction_count(burner.address, "pending")
    with transaction.atomic():
        lock(f"redeem:{redeem.id}")
        redeem = get_redeem(redeem.id)
        if redeem.status != Status.RECEIVED:
            return
        nonce, nonce_append = nonces.allocate(network, burner.address, chain_pending, purpose="burn",
                                              request_id=redeem.id)
        signed = sign_burn_from_redemption(burner, chain_id=network.chain_id, nonce=nonce, gas=gas,
                                           token=redeem.deployment.contract_address,
                                           amount=int(redeem.amount_base_units), request_id=id_to_bytes32(redeem.id))
        event = NewEvent("burn_signed", {"signer": burner.address, "nonce": nonce, "tx_hash": signed.tx_hash,
                                         "raw_tx": "0x" + signed.raw_tx.hex(), "chain_id": network.chain_id,
                                         "onchain_request_id": "0x" + id_to_bytes32(redeem.id).hex()})
        store.append_many([StreamAppend("redeem_request", redeem.id, [event], expected_version=redeem.stream_version),
                           nonce_append], metadata={"actor": SYSTEM_ACTOR, "partner": redeem.partner_id})
    crash_point("after_sign")


def _broadcast(redeem: RedeemRequest, w3, *, reason: str) -> None:
    try:
        broadcast(w3, bytes.fromhex(redeem.raw_tx.removeprefix("0x")))
    except NonceAlreadyUsed as taken:
        _append(redeem, [NewEvent("redeem_failed", {"code": taken.code, "reason": str(taken)})])
        return
    except BroadcastRejected as refused:
        raise InvalidState(f"node refused burn {redeem.id}'s transaction; it stays signed and is retried: {refused}") from refused
    crash_point("after_broadcast")
    _append(redeem, [NewEvent("burn_broadcast", {"tx_hash": redeem.tx_hash, "first": redeem.broadcast_at is None,
                                                 "reason": reason})])


@dataclass(frozen=True)
class FinalBurn:
    """A redemption whose burn final_burn read on chain as older than the reorg window. release_shares takes it
    rather than reading the chain itself, because it runs inside a transaction (a console action's), where no
    network call belongs."""

    redeem_id: str


def final_burn(redeem_id: str) -> FinalBurn:
    """BurnNotFinal while the burn is within the reorg window, where a reorg can still undo it, or is off chain."""
    redeem = _burned(redeem_id)
    network = chain_client.network(redeem.network)
    if not _burn_final(redeem, network, chain_client.web3_for(network)):
        if get_redeem(redeem_id).status != Status.BURNED:
            raise BurnNotFinal(f"burn {redeem.tx_hash} of redeem {redeem_id} left the chain; it was reversed "
                               f"and is broadcast again")
        raise BurnNotFinal(f"burn {redeem.tx_hash} of redeem {redeem_id} is within the last {network.reorg_window} "
                           f"blocks, where a reorg can still undo it; release the shares after that")
    return FinalBurn(redeem.id)


def _burned(redeem_id: str) -> RedeemRequest:
    redeem = get_redeem(redeem_id)
    if redeem.status != Status.BURNED:
        raise InvalidState(f"redeem {redeem_id} is {redeem.status}; shares are released only after the burn")
    return redeem


def _burn_final(redeem: RedeemRequest, network: chain_client.Network, w3) -> bool:
    """True once the burn is older than the reorg window, where the watcher stops re-checking it
    (recheck_recent_burns). A burn gone from the chain although its recorded block is past that window (the
    watcher was down while it left) is reversed here, or nothing would ever notice."""
    burn = receipt_status(w3, redeem.tx_hash, 1)
    window_start = chain_client.reorg_window_start(network, chain_client.head_block(w3))
    if burn.state == TxState.NOT_FOUND and redeem.block_number < window_start:
        reverse_burn(redeem, SYSTEM_ACTOR)
        return False
    return burn.state == TxState.CONFIRMED and burn.block_number < window_start


def reverse_burn(redeem: RedeemRequest, actor: str) -> None:
    """burn_reorged (a critical alert): the burn left the chain, so the supply it took off the ledger is back and
    process_redeem broadcasts the same transaction again. Its shares have not left: they go only once it is final."""
    symbol = redeem.instrument.symbol
    store.append("redeem_request", redeem.id, [NewEvent("burn_reorged", {
        "tx_hash": redeem.tx_hash, "block_number": redeem.block_number, "block_hash": redeem.block_hash,
        "network": redeem.network, "deployment_id": redeem.deployment_id, "qty_shares": redeem.qty_shares},
        postings=_move(pending_redeem_account(redeem.partner_id, symbol), supply_account(redeem.network, symbol),
                       symbol, redeem.qty_shares))],
        metadata={"actor": actor, "partner": redeem.partner_id}, expected_version=redeem.stream_version)


def _release(redeem: RedeemRequest, burn: FinalBurn) -> bool:
    """Give the shares back: through the broker's ITN redeem callback (it journals them to the partner) or by
    selling them through custody. False when a person has to do it (release_shares)."""
    from . import broker

    if redeem.release_method == "sell":
        reference = _sell_through_broker(redeem)
        reported = False
    elif redeem.partner.broker_client_id:
        answer = broker.report_redeem(redeem)
        reference, reported = f"itn:{answer.get('tokenization_request_id', '')}", True
    else:
        return False
    release_shares(burn, SYSTEM_ACTOR, reference=reference, reported_to_broker=reported)
    return True


def _sell_through_broker(redeem: RedeemRequest) -> str:
    from custody.services import place_order_for_request

    outcome = place_order_for_request(redeem.id, redeem.instrument.symbol, redeem.qty_shares, "sell",
                                      redeem.custody_account, actor=SYSTEM_ACTOR)
    if not outcome.filled:
        raise SharesPending(f"broker sale {outcome.broker_order_id} for redeem {redeem.id} is {outcome.status}")
    return outcome.broker_order_id


def release_shares(burn: FinalBurn, actor: str, *, reference: str = "", reported_to_broker: bool = False) -> RedeemRequest:
    """Record that the partner's shares left us: journaled back (pending-redeem +shares against the journal's
    counter account: the outgoing clearing account at a broker, whose sync books the outgoing JNLS from custody;
    see journal_counter_account), or sold, whose fill custody booked already (pending-redeem +shares /
    market:<account>:<SYM> -shares). `burn` from final_burn, read before this (and any) transaction."""
    redeem = _burned(burn.redeem_id)  # a burn_reorged recorded since final_burn read the chain sends it back
    symbol = redeem.instrument.symbol
    counter = (market_account(redeem.custody_account, symbol) if redeem.release_method == "sell"
               else journal_counter_account(redeem.custody_account, symbol, "out"))
    return _append(redeem, [NewEvent("shares_released", {
        "method": redeem.release_method, "reference": reference, "custody_account": redeem.custody_account,
        "qty_shares": redeem.qty_shares, "reported_to_broker": reported_to_broker},
        postings=_move(pending_redeem_account(redeem.partner_id, symbol), counter, symbol, redeem.qty_shares))], actor)


def pending_redeem_ids() -> list[str]:
    return list(RedeemRequest.objects.filter(status__in=RedeemRequest.OPEN).order_by("requested_at")
                .values_list("id", flat=True))


__all__ = ["request_redeem", "process_redeem", "assign_held_redeem", "final_burn", "release_shares", "get_redeem",
           "pending_redeem_ids", "redeem_id_for"]
