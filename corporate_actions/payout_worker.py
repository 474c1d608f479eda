"""The payout worker: pays an approved run exactly once per holder, and survives being killed at any point.

For each network the run pays on, one call of `run_payout`:
1. airdrop: makes sure the payer has let the Disperser move the stablecoin (approve, once);
2. signs every batch not yet signed: a Disperser.disperse of up to DIVIDEND_BATCH_SIZE holders with
   batchId = id_to_bytes32("dividend-payout:<run>:<network>:<batch>") (airdrop), or one ShareToken.mint per
   holder with requestId = id_to_bytes32("corporate-action-mint:<run>:<network>:<address>") (reinvest,
   split). The signed bytes are committed to the ledger (tx_signed, with the nonce issuance allocates for that
   signer in the same transaction) BEFORE they are broadcast;
3. broadcasts what is signed (the very bytes recorded; broadcasting again is a no-op);
4. follows receipts: a confirmed transaction is recorded together with one holder_paid per holder in it
   (dividends:payable -> dividends:paid, and for mints chain:<network>:<SYM>:supply against
   corporate-actions:<id>:<SYM>); a reverted one, or one whose nonce another transaction took, is re-signed
   on the next call under the SAME batch or request id, so the contract refuses to pay anyone twice even if
   the earlier one was in fact mined.
When every holder is paid, payout_run_completed.

After a crash the next call resumes from what the ledger says: signed -> broadcast again, broadcast -> follow
the receipt, not found -> broadcast again. Each step runs under a per-run lock and re-reads the run, so
several workers on one run do no harm.
"""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from eth_abi import decode, encode
from eth_utils import to_checksum_address
from web3 import Web3

from chain.errors import NonceAlreadyUsed
from chain.rpc import unreachable_as_chain_unavailable
from chain.tx import (
    GasParams,
    TxState,
    broadcast,
    gas_params_from_head,
    id_to_bytes32,
    receipt_status,
    selector,
    sign_approve,
    sign_disperse,
    sign_mint,
)
from custody.models import Instrument
from custody.services import resume_instrument
from issuance import chain_client, nonces
from issuance import signers as issuance_signers
from ledger import store
from ledger.canonical import EXACT, normalize_decimal
from ledger.store import NewEvent, Posting, StreamAppend

from . import ledger_accounts as accounts
from . import signers, streams
from .crashpoints import crash_point
from .errors import BatchPaidElsewhere, PayoutNotApproved, PayoutNotConfigured, ReinvestSharesNotSecured
from .instruments import instrument_by_isin
from .locks import lock
from .models import PayoutLine, PayoutRun, PayoutTx
from .runs import get_run, pay_lines

Kind = PayoutRun.Kind
TxStatus = PayoutTx.Status
LIVE = (TxStatus.SIGNED, TxStatus.BROADCAST, TxStatus.CONFIRMED)
MAX_UINT256 = 2**256 - 1
ALLOWANCE = selector("allowance(address,address)")
BALANCE_OF = selector("balanceOf(address)")
BATCH_DONE = selector("batchDone(bytes32)")
MINTED_FOR = selector("mintedFor(bytes32)")
RECEIPT_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class _Network:
    """One network of a run: its client, who signs, and the contract paid from or minted on."""

    net: chain_client.Network
    w3: Web3
    signer: Any
    contract: str
    decimals: int
    tokens_per_share: Decimal
    disperser: str | None


def run_payout(run_id: str, *, wait_seconds: Decimal | float | None = None) -> PayoutRun:
    """Advance an approved run as far as it goes now (see the module docstring); safe to call at any time,
    any number of times, after a crash at any point. PayoutNotApproved before approval.

    `wait_seconds` (default DIVIDEND_RECEIPT_WAIT_SECONDS) bounds the wait for receipts on each network, counted
    from when its batches are broadcast: signing thousands of holders on a busy worker must not eat the time
    the chain is given to mine them."""
    run = get_run(run_id)
    if run.status == PayoutRun.Status.COMPLETED:
        return run
    if run.status == PayoutRun.Status.CREATED:
        raise PayoutNotApproved(f"payout run {run_id} is waiting for approval")
    if run.kind == Kind.REINVEST and not run.shares_secured:
        raise ReinvestSharesNotSecured(f"reinvest run {run_id}: secure the {run.totals['reinvest_shares']} "
                                       f"{run.symbol} shares behind the new tokens first")
    wait = Decimal(str(settings.DIVIDEND_RECEIPT_WAIT_SECONDS if wait_seconds is None else wait_seconds))
    networks = sorted(set(pay_lines(run).filter(paid=False).values_list("network", flat=True)))
    for name in networks:
        network = _network(run, name)
        if run.kind == Kind.AIRDROP:
            _ensure_allowance(run, network)
        batches = sorted(set(pay_lines(run).filter(network=name, paid=False).values_list("batch_no", flat=True)))
        for batch_no in batches:
            _sign_batch(run, network, batch_no)
        _broadcast_signed(run, network)
        _follow_receipts(run, network, time.monotonic() + float(wait))
    _complete_if_done(run_id)
    return get_run(run_id)


def _network(run: PayoutRun, name: str) -> _Network:
    target = run.targets[name]
    net = chain_client.network(name)
    if run.kind == Kind.AIRDROP:
        return _Network(net, chain_client.web3_for(net), signers.payer(name), target["address"], target["decimals"],
                        Decimal(1), target["disperser"])
    return _Network(net, chain_client.web3_for(net), issuance_signers.signer("minter", name), target["address"],
                    target["decimals"], Decimal(target["tokens_per_share"]), None)


def _call_uint(w3: Web3, to: str, data: bytes) -> int:
    with unreachable_as_chain_unavailable(w3):
        (value,) = decode(["uint256"], w3.eth.call({"to": to_checksum_address(to), "data": data}))
    return value


def _pending_nonce(network: _Network) -> int:
    with unreachable_as_chain_unavailable(network.w3):
        return network.w3.eth.get_transaction_count(network.signer.address, "pending")


def _record_signed(run: PayoutRun, network: _Network, tx_key: str, sign, *, chain_pending: int, gas: GasParams,
                   kind: str, batch_no: int | None, line_nos: list[int], onchain_id: bytes | None) -> None:
    """Allocate the signer's next nonce (issuance's allocation, shared with its own mints), sign, and commit
    both with tx_signed, unless another worker signed this transaction meanwhile. Call inside
    transaction.atomic holding the run's lock; `chain_pending` and `gas` are read before, off the lock."""
    current = PayoutTx.objects.filter(run=run, tx_key=tx_key).first()
    if current is not None and current.status in LIVE:
        return
    nonce, nonce_append = nonces.allocate(network.net, network.signer.address, chain_pending,
                                          purpose=f"corporate-actions:{kind}", request_id=f"{run.id}:{tx_key}")
    signed = sign(nonce=nonce, gas=gas)
    event = NewEvent("tx_signed", {
        "tx_key": tx_key, "kind": kind, "network": network.net.name, "batch_no": batch_no, "line_nos": line_nos,
        "attempt": current.attempt + 1 if current else 1, "signer": signed.sender, "nonce": nonce,
        "tx_hash": signed.tx_hash, "raw_tx": "0x" + signed.raw_tx.hex(), "chain_id": network.net.chain_id,
        "onchain_id": "0x" + onchain_id.hex() if onchain_id else ""})
    version = PayoutRun.objects.values_list("stream_version", flat=True).get(id=run.id)
    store.append_many([StreamAppend(streams.PAYOUT_RUN, run.id, [event], expected_version=version), nonce_append],
                      metadata={"actor": streams.SYSTEM_ACTOR})


def _ensure_allowance(run: PayoutRun, network: _Network) -> None:
    """The payer approves the Disperser once (max allowance) when its allowance cannot cover what is left."""
    unpaid_units = pay_lines(run).filter(network=network.net.name, paid=False).aggregate(total=Sum("units"))["total"]
    needed = int(unpaid_units or 0)
    payer = network.signer.address
    balance = _call_uint(network.w3, network.contract, BALANCE_OF + encode(["address"], [payer]))
    in_flight = PayoutTx.objects.filter(run=run, network=network.net.name, kind="disperse",
                                        status__in=(TxStatus.SIGNED, TxStatus.BROADCAST))
    if not in_flight.exists() and balance < needed:
        raise PayoutNotConfigured(f"payer {payer} holds {balance} base units of {network.contract} on "
                                  f"{network.net.name}; run {run.id} still needs {needed}")
    allowance = _call_uint(network.w3, network.contract, ALLOWANCE + encode(["address", "address"],
                                                                             [payer, network.disperser]))
    if allowance >= needed:
        return
    approvals = PayoutTx.objects.filter(run=run, network=network.net.name, kind="approve")
    if approvals.filter(status__in=(TxStatus.SIGNED, TxStatus.BROADCAST)).exists():
        return  # nonces order it before every disperse signed after it
    tx_key = f"{network.net.name}:allowance:{approvals.count() + 1}"
    chain_pending, gas = _pending_nonce(network), gas_params_from_head(network.w3, settings.DIVIDEND_DISPERSE_GAS_BASE)
    with transaction.atomic():
        lock(f"run:{run.id}")
        _record_signed(run, network, tx_key, lambda nonce, gas: sign_approve(
            network.signer, chain_id=network.net.chain_id, nonce=nonce, gas=gas, token=network.contract,
            spender=network.disperser, amount=MAX_UINT256), chain_pending=chain_pending, gas=gas, kind="approve",
            batch_no=None, line_nos=[], onchain_id=None)
    crash_point("after_sign")


def _sign_batch(run: PayoutRun, network: _Network, batch_no: int) -> None:
    lines = list(pay_lines(run).filter(network=network.net.name, batch_no=batch_no, paid=False).order_by("line_no"))
    if run.kind == Kind.AIRDROP:
        _sign_disperse(run, network, batch_no, lines)
    else:
        _sign_mints(run, network, lines)


def _sign_disperse(run: PayoutRun, network: _Network, batch_no: int, lines: list[PayoutLine]) -> None:
    tx_key = f"{network.net.name}:batch:{batch_no}"
    earlier = PayoutTx.objects.filter(run=run, tx_key=tx_key).first()
    if earlier is not None and earlier.status in LIVE:
        return
    batch_id = id_to_bytes32(f"dividend-payout:{run.id}:{network.net.name}:{batch_no}")
    if earlier is not None and _call_uint(network.w3, network.disperser, BATCH_DONE + batch_id):
        raise BatchPaidElsewhere(f"run {run.id} batch {tx_key}: the Disperser has batch {batch_id.hex()} done but "
                                 f"our transaction {earlier.tx_hash} was {earlier.status}")
    recipients = [line.address for line in lines]
    amounts = [int(line.units) for line in lines]
    gas_limit = settings.DIVIDEND_DISPERSE_GAS_BASE + settings.DIVIDEND_DISPERSE_GAS_PER_RECIPIENT * len(lines)
    chain_pending, gas = _pending_nonce(network), gas_params_from_head(network.w3, gas_limit)
    with transaction.atomic():
        lock(f"run:{run.id}")
        _record_signed(run, network, tx_key, lambda nonce, gas: sign_disperse(
            network.signer, chain_id=network.net.chain_id, nonce=nonce, gas=gas, disperser=network.disperser,
            token=network.contract, batch_id=batch_id, recipients=recipients, amounts=amounts),
            chain_pending=chain_pending, gas=gas, kind="disperse", batch_no=batch_no,
            line_nos=[line.line_no for line in lines], onchain_id=batch_id)
    crash_point("after_sign")


def _sign_mints(run: PayoutRun, network: _Network, lines: list[PayoutLine]) -> None:
    """One mint per holder; the batch's signatures commit together (one transaction, nonces in order)."""
    unsigned = []
    for line in lines:
        tx_key = f"{network.net.name}:line:{line.line_no}"
        earlier = PayoutTx.objects.filter(run=run, tx_key=tx_key).first()
        if earlier is not None and earlier.status in LIVE:
            continue
        request_id = id_to_bytes32(f"corporate-action-mint:{run.id}:{network.net.name}:{line.address}")
        if earlier is not None and _call_uint(network.w3, network.contract, MINTED_FOR + request_id):
            raise BatchPaidElsewhere(f"run {run.id} {tx_key}: the token has request {request_id.hex()} minted but "
                                     f"our transaction {earlier.tx_hash} was {earlier.status}")
        unsigned.append((line, tx_key, request_id))
    if not unsigned:
        return
    chain_pending = _pending_nonce(network)  # a floor only: each allocation below moves the recorded nonce on
    gas = gas_params_from_head(network.w3, settings.CORPORATE_ACTIONS_MINT_GAS)
    with transaction.atomic():
        lock(f"run:{run.id}")
        for line, tx_key, request_id in unsigned:
            _record_signed(run, network, tx_key, lambda nonce, gas, line=line, request_id=request_id: sign_mint(
                network.signer, chain_id=network.net.chain_id, nonce=nonce, gas=gas, token=network.contract,
                to=line.address, amount=int(line.units), request_id=request_id),
                chain_pending=chain_pending, gas=gas, kind="mint", batch_no=line.batch_no, line_nos=[line.line_no],
                onchain_id=request_id)
    crash_point("after_sign")


def _broadcast_signed(run: PayoutRun, network: _Network) -> None:
    """Send every signed transaction of this network in nonce order, then record the broadcasts."""
    signed = list(PayoutTx.objects.filter(run=run, network=network.net.name, status=TxStatus.SIGNED).order_by("nonce"))
    events = []
    for tx in signed:
        try:
            broadcast(network.w3, bytes.fromhex(tx.raw_tx.removeprefix("0x")))
        except NonceAlreadyUsed as taken:
            events.append(NewEvent("tx_dropped", {"tx_key": tx.tx_key, "tx_hash": tx.tx_hash, "reason": str(taken)}))
            continue
        crash_point("after_broadcast")
        events.append(NewEvent("tx_broadcast", {"tx_key": tx.tx_key, "tx_hash": tx.tx_hash}))
    _append_if_unchanged(run, events, {tx.tx_key: TxStatus.SIGNED for tx in signed})


def _append_if_unchanged(run: PayoutRun, events: list[NewEvent], expected: dict[str, str]) -> None:
    """Append `events` about transactions still in the status they were decided on (another worker may have
    moved some meanwhile: those are dropped from the append)."""
    if not events:
        return
    with transaction.atomic():
        lock(f"run:{run.id}")
        current = dict(PayoutTx.objects.filter(run=run, tx_key__in=list(expected)).values_list("tx_key", "status"))
        keep = [event for event in events if current.get(event.payload["tx_key"]) == expected[event.payload["tx_key"]]]
        if keep:
            version = PayoutRun.objects.values_list("stream_version", flat=True).get(id=run.id)
            store.append(streams.PAYOUT_RUN, run.id, keep, metadata={"actor": streams.SYSTEM_ACTOR},
                         expected_version=version)


def _follow_receipts(run: PayoutRun, network: _Network, deadline: float) -> None:
    """Record what became final; rebroadcast what the node lost; wait for the rest until the deadline."""
    while True:
        pending = list(PayoutTx.objects.filter(run=run, network=network.net.name, status=TxStatus.BROADCAST)
                       .order_by("nonce"))
        if not pending:
            return
        confirmed, reverted, lost = [], [], []
        for tx in pending:
            status = receipt_status(network.w3, tx.tx_hash, network.net.confirmations)
            if status.state == TxState.CONFIRMED:
                confirmed.append((tx, status))
            elif status.state == TxState.REVERTED:
                reverted.append((tx, status))
            elif status.state == TxState.NOT_FOUND:
                lost.append(tx)
        if confirmed or reverted:
            _record_outcomes(run, network, confirmed, reverted)
        for tx in lost:  # dropped from the pool or reorged out: the same bytes again
            try:
                broadcast(network.w3, bytes.fromhex(tx.raw_tx.removeprefix("0x")))
            except NonceAlreadyUsed as taken:
                _append_if_unchanged(run, [NewEvent("tx_dropped", {"tx_key": tx.tx_key, "tx_hash": tx.tx_hash,
                                                                   "reason": str(taken)})],
                                     {tx.tx_key: TxStatus.BROADCAST})
        if len(confirmed) + len(reverted) == len(pending):
            continue
        if time.monotonic() >= deadline:
            return
        time.sleep(RECEIPT_POLL_SECONDS)


def _record_outcomes(run: PayoutRun, network: _Network, confirmed: list, reverted: list) -> None:
    """tx_confirmed with one holder_paid per holder of the transaction, and tx_reverted; one append."""
    with transaction.atomic():
        lock(f"run:{run.id}")
        run = get_run(run.id)
        keys = [tx.tx_key for tx, _ in confirmed + reverted]
        still_broadcast = set(PayoutTx.objects.filter(run=run, tx_key__in=keys, status=TxStatus.BROADCAST)
                              .values_list("tx_key", flat=True))
        events: list[NewEvent] = []
        for tx, status in reverted:
            if tx.tx_key in still_broadcast:
                events.append(NewEvent("tx_reverted", {"tx_key": tx.tx_key, "tx_hash": tx.tx_hash,
                                                       "block_number": status.block_number,
                                                       "block_hash": status.block_hash}))
        line_nos = [line_no for tx, _ in confirmed if tx.tx_key in still_broadcast for line_no in tx.line_nos]
        lines = {line.line_no: line for line in PayoutLine.objects.filter(run=run, line_no__in=line_nos, paid=False)}
        for tx, status in confirmed:
            if tx.tx_key not in still_broadcast:
                continue
            events.append(NewEvent("tx_confirmed", {"tx_key": tx.tx_key, "tx_hash": tx.tx_hash,
                                                    "block_number": status.block_number,
                                                    "block_hash": status.block_hash,
                                                    "confirmations": status.confirmations}))
            events += [_holder_paid(run, network, lines[line_no], tx.tx_hash) for line_no in tx.line_nos
                       if line_no in lines]
        if events:
            store.append(streams.PAYOUT_RUN, run.id, events, metadata={"actor": streams.SYSTEM_ACTOR},
                         expected_version=run.stream_version)
    if confirmed:
        crash_point("after_confirm")


def _holder_paid(run: PayoutRun, network: _Network, line: PayoutLine, tx_hash: str) -> NewEvent:
    legs: list[Posting] = []
    if run.kind in (Kind.AIRDROP, Kind.REINVEST):
        legs += [Posting(accounts.payable(run.symbol, run.action_id), run.currency, line.amount),
                 Posting(accounts.paid(run.symbol, run.action_id), run.currency, -line.amount)]
    if run.kind in (Kind.REINVEST, Kind.SPLIT_MINT):
        shares = normalize_decimal(EXACT.divide(EXACT.divide(line.units, Decimal(10) ** network.decimals),
                                                network.tokens_per_share))
        legs += [Posting(accounts.supply(network.net.name, run.symbol), run.symbol, -shares),
                 Posting(accounts.corporate_action(run.action_id, run.symbol), run.symbol, shares)]
    return NewEvent("holder_paid", {"line_no": line.line_no, "network": line.network, "address": line.address,
                                    "amount": line.amount, "units": str(line.units), "tx_hash": tx_hash},
                    postings=legs)


def _complete_if_done(run_id: str) -> None:
    with transaction.atomic():
        lock(f"run:{run_id}")
        run = get_run(run_id)
        if run.status == PayoutRun.Status.COMPLETED or pay_lines(run).filter(paid=False).exists():
            return
        paid = defaultdict(Decimal)
        for line in pay_lines(run):
            paid["amount"] += line.amount
            paid["units"] += line.units
        event = NewEvent("payout_run_completed", {"action_id": run.action_id, "kind": run.kind,
                                                  "amount_paid": normalize_decimal(paid["amount"]),
                                                  "units_paid": str(int(paid["units"])),
                                                  "holders_paid": pay_lines(run).count()})
        if run.paused_instrument and instrument_by_isin(run.action.isin).status == Instrument.Status.PAUSED:
            resume_instrument(instrument_by_isin(run.action.isin).symbol, streams.SYSTEM_ACTOR,
                              f"split {run.action_id}: every holder's new tokens are minted")
        store.append(streams.PAYOUT_RUN, run.id, [event], metadata={"actor": streams.SYSTEM_ACTOR},
                     expected_version=run.stream_version)
