"""Issuance: mint and redeem 1:1 tokens. The business rules live here, written once; Celery tasks, management
commands, the admin and the API call these functions and nothing below them.

Mint lifecycle (events on stream mint_request/<id>):
    mint_requested -> [mint_approved] -> shares_secured -> mint_signed -> mint_broadcast -> mint_confirmed
    -> mint_completed;  or mint_rejected | mint_cancelled | mint_failed (reason code), and mint_reorged when a
    confirmed mint leaves the chain (supply reversed, the same signed transaction is rebroadcast). A cancelled or
    failed mint whose shares were secured owes them back; `return_shares` records that they went back.

"Can this mint proceed?" is `check_mint_rules` (partner, KYC, instrument, wallet, caps) plus the reserve check,
run at request time and again, under a per-instrument lock, at the moment of signing: tokens outstanding on
every network + mints in flight + this mint <= shares in custody. The signed transaction is committed together
with that reservation and its nonce before it is broadcast; `process_mint` then only ever rebroadcasts those
bytes. The contract refuses a second mint for the same request id (id_to_bytes32(request id)) regardless.

Redemptions, the chain watcher, the broker (ITN) edge and cycle-time statistics live in their own modules and
are re-exported here, so `issuance.services` is the whole API.
"""
from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, time as day_time
from decimal import Decimal
from typing import Literal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from chain.errors import BroadcastRejected, NonceAlreadyUsed
from chain.tx import TxState, broadcast, gas_params_from_head, id_to_bytes32, receipt_status, sign_mint
from custody.errors import BrokerUnavailable
from custody.models import CustodyAccount, Instrument
from custody.services import outgoing_journal_account, sync_account, unmatched_journal_account
from ledger import idempotency, store
from ledger.balances import balance
from ledger.canonical import decimal_str
from ledger.store import NewEvent, Posting, StreamAppend
from partners.addresses import checksum_address
from partners.models import Partner, Wallet
from partners.services import get_partner

from . import chain_client, nonces, signers
from .crashpoints import crash_point
from .errors import (
    CapExceeded,
    InstrumentNotAllowed,
    InstrumentPaused,
    InsufficientReserves,
    InvalidState,
    IssuanceError,
    KycNotApproved,
    NoSharesOwed,
    SecondApprovalRequired,
    SelfApproval,
    SharesAlreadyReturned,
    SharesPending,
    TokenNotDeployed,
    UnknownInstrument,
    UnknownRequest,
    WalletNotAllowlisted,
)
from .locks import lock
from .models import MintRequest, TokenDeployment
from .quantities import parse_qty, to_base_units, to_shares
from .reserves import ReserveCheck, reserve_check

Status = MintRequest.Status
SYSTEM_ACTOR = "system:issuance"
AUTO_APPROVER = "system:auto-approval"
RECEIPT_POLL_SECONDS = 0.02


# --- accounts (docs/chart-of-accounts.md) ---

def custody_account_path(custody_account: str, symbol: str) -> str:
    return f"custody:{custody_account}:{symbol}"


def supply_account(network: str, symbol: str) -> str:
    return f"chain:{network}:{symbol}:supply"


def journal_counter_account(custody_account: str, symbol: str, direction: Literal["in", "out"]) -> str:
    """The account issuance books a share journal against: "in" for a mint's shares, "out" for a redemption's
    or a return's. At a broker account custody's sync books every JNLS exactly once, custody:<account>:<SYM>
    against a clearing account, suspense:unmatched-journal:<account>:<SYM> for shares in and
    suspense:outgoing-journal:<account>:<SYM> for shares out, so issuance moves the shares in and out of those
    clearing accounts and never touches custody:* itself (else custody would count the journal twice). One
    account per direction: a mint's journal not booked yet (+) and a release not booked out yet (-) would net
    to zero in a shared one, and the reserve check would see neither. A statement custodian sends no journal
    feed, so there issuance books custody directly.
    """
    if CustodyAccount.objects.filter(name=custody_account, kind=CustodyAccount.Kind.STATEMENT).exists():
        return custody_account_path(custody_account, symbol)
    clearing = unmatched_journal_account if direction == "in" else outgoing_journal_account
    return clearing(custody_account, symbol)


def pending_mint_account(partner_id: str, symbol: str) -> str:
    return f"partner:{partner_id}:pending-mint:{symbol}"


def pending_redeem_account(partner_id: str, symbol: str) -> str:
    return f"partner:{partner_id}:pending-redeem:{symbol}"


def _move(to_account: str, from_account: str, symbol: str, shares: Decimal) -> list[Posting]:
    return [Posting(to_account, symbol, shares), Posting(from_account, symbol, -shares)]


# --- lookups ---

def get_instrument(symbol: str) -> Instrument:
    instrument = Instrument.objects.filter(symbol=str(symbol).strip().upper()).first()
    if instrument is None:
        raise UnknownInstrument(f"no instrument {symbol!r}")
    return instrument


def active_deployment(instrument: Instrument, network: str) -> TokenDeployment:
    chain_client.network(network)  # UnknownNetwork first: a typo is not "not deployed"
    deployment = TokenDeployment.objects.filter(instrument=instrument, network=network,
                                                status=TokenDeployment.Status.ACTIVE).first()
    if deployment is None:
        raise TokenNotDeployed(f"{instrument.symbol} has no token on {network}")
    return deployment


def get_mint(request_id: str) -> MintRequest:
    request = MintRequest.objects.select_related("partner", "instrument", "deployment").filter(id=request_id).first()
    if request is None:
        raise UnknownRequest(f"no mint request {request_id!r}")
    return request


# --- the rules ---

def check_mint_rules(partner: Partner, instrument: Instrument, deployment: TokenDeployment, wallet_address: str,
                     qty: Decimal, *, excluding_request: str | None = None) -> None:
    """Everything but reserves that decides whether this partner may have these tokens now. Raises the named
    error of the first rule that fails."""
    if instrument.status == Instrument.Status.PAUSED:
        raise InstrumentPaused(f"{instrument.symbol} is paused")
    if instrument.status != Instrument.Status.ACTIVE:
        raise InstrumentPaused(f"{instrument.symbol} is {instrument.status}; no new tokens")
    if deployment.status != TokenDeployment.Status.ACTIVE:
        raise TokenNotDeployed(f"the {deployment.network} token of {instrument.symbol} is retired")
    if partner.kyc_status != Partner.KycStatus.APPROVED:
        raise KycNotApproved(f"partner {partner.id} KYC is {partner.kyc_status}")
    if instrument.symbol not in partner.allowed_symbols:
        raise InstrumentNotAllowed(f"partner {partner.id} may not mint {instrument.symbol}")
    if not Wallet.objects.filter(partner=partner, network=deployment.network, address=wallet_address,
                                 status=Wallet.Status.ALLOWLISTED).exists():
        raise WalletNotAllowlisted(f"{wallet_address} is not an allowlisted wallet of {partner.id} on {deployment.network}")
    if partner.per_request_cap is not None and qty > partner.per_request_cap:
        raise CapExceeded(f"{qty} tokens exceeds partner {partner.id}'s per-request cap of {partner.per_request_cap}")
    if partner.daily_cap is not None:
        used = _requested_today(partner, excluding_request)
        if used + qty > partner.daily_cap:
            raise CapExceeded(f"{qty} more tokens today would exceed partner {partner.id}'s daily cap of "
                              f"{partner.daily_cap} ({used} already requested)")


def _requested_today(partner: Partner, excluding_request: str | None) -> Decimal:
    start = datetime.combine(timezone.now().astimezone(UTC).date(), day_time.min, tzinfo=UTC)
    requests = MintRequest.objects.filter(partner=partner, requested_at__gte=start).exclude(
        status__in=MintRequest.ENDED_WITHOUT_MINT)
    if excluding_request:
        requests = requests.exclude(id=excluding_request)
    return requests.aggregate(total=Sum("qty"))["total"] or Decimal(0)


def check_reserves(instrument: Instrument, qty_shares: Decimal) -> ReserveCheck:
    check = reserve_check(instrument, qty_shares)
    if not check.passes:
        shares = {name: decimal_str(value) for name, value in check.as_payload().items()}  # 10, not 1E+1
        raise InsufficientReserves(
            f"{instrument.symbol}: {shares['outstanding_shares']} outstanding + {shares['in_flight_shares']} in "
            f"flight + {shares['this_mint_shares']} for this mint exceeds {decimal_str(check.reserve_shares)} shares "
            f"in custody free to back tokens ({shares['custody_shares']} held, {shares['owed_back_shares']} owed "
            f"back to partners, {shares['unclaimed_shares']} journaled in and claimed by no request, "
            f"{shares['leaving_shares']} released and not yet booked out)")
    return check


# --- requesting, approving, rejecting, cancelling ---

def request_mint(partner: Partner | str, symbol: str, qty: Decimal | str | int, network: str, wallet: str, actor: str,
                 idempotency_key: str | None = None, *, source: str = "partner",
                 itn_request_id: str = "") -> MintRequest:
    """Record a partner's request for `qty` tokens of `symbol` on `network` to `wallet`.

    Every check runs before anything is recorded: a refused request leaves no trace. Mints of more than
    MINT_APPROVAL_THRESHOLD tokens wait for a second person (approve_mint); smaller ones are approved at once.
    With an idempotency key, a retry with the same input returns the first request; other input is an
    IdempotencyConflict.
    """
    partner = partner if isinstance(partner, Partner) else get_partner(partner)
    instrument = get_instrument(symbol)
    deployment = active_deployment(instrument, network)
    wallet_address = checksum_address(wallet)
    qty = parse_qty(qty, deployment.decimals)
    amount = to_base_units(qty, deployment.decimals)
    qty_shares = to_shares(qty, instrument.tokens_per_share)
    fingerprint = idempotency.fingerprint({"symbol": instrument.symbol, "qty": qty, "network": network,
                                           "wallet": wallet_address, "source": source, "itn": itn_request_id})
    scope = f"issuance.mint_request:{partner.id}"
    with transaction.atomic():
        lock(f"partner:{partner.id}")  # daily caps: one request of a partner at a time
        if idempotency_key is not None:
            idempotency.lock_key(scope, idempotency_key)
            earlier = idempotency.lookup(scope, idempotency_key, fingerprint)
            if earlier is not None:
                return get_mint(earlier["request_id"])
        partner = Partner.objects.get(pk=partner.pk)
        check_mint_rules(partner, instrument, deployment, wallet_address, qty)
        request_id = str(uuid.uuid4())
        needs_second_approval = qty > settings.MINT_APPROVAL_THRESHOLD
        events = [NewEvent("mint_requested", {
            "partner_id": partner.id, "symbol": instrument.symbol, "network": network,
            "deployment_id": deployment.id, "wallet_address": wallet_address, "qty": qty,
            "amount_base_units": str(amount), "qty_shares": qty_shares, "source": source,
            "itn_request_id": itn_request_id, "needs_second_approval": needs_second_approval,
            "custody_account": partner.custody_account or settings.ISSUANCE_CUSTODY_ACCOUNT,
        })]
        if not needs_second_approval:
            events.append(NewEvent("mint_approved", {"approved_by": AUTO_APPROVER, "automatic": True}))
        store.append("mint_request", request_id, events,
                     metadata={"actor": actor, "partner": partner.id, "idempotency_key": idempotency_key},
                     expected_version=0)
        if idempotency_key is not None:
            idempotency.remember(scope, idempotency_key, fingerprint, {"request_id": request_id})
    return get_mint(request_id)


def _append(request: MintRequest, events: list[NewEvent], actor: str) -> MintRequest:
    store.append("mint_request", request.id, events, metadata={"actor": actor, "partner": request.partner_id},
                 expected_version=request.stream_version)
    return get_mint(request.id)


def approve_mint(request_id: str, approver: str) -> MintRequest:
    """The second person's approval of a mint above the threshold; the approver must not be the requester."""
    request = get_mint(request_id)
    if request.status != Status.REQUESTED:
        raise InvalidState(f"mint {request_id} is {request.status}, not waiting for approval")
    if approver == request.requested_by:
        raise SelfApproval(f"{approver} requested mint {request_id} and cannot also approve it")
    if not approver.startswith("user:"):
        raise SecondApprovalRequired(f"mint {request_id} needs a person's approval, not {approver}")
    return _append(request, [NewEvent("mint_approved", {"approved_by": approver, "automatic": False})], approver)


def reject_mint(request_id: str, actor: str, reason: str) -> MintRequest:
    """Refuse a mint before any shares arrived for it."""
    request = get_mint(request_id)
    if request.status not in (Status.REQUESTED, Status.APPROVED):
        raise InvalidState(f"mint {request_id} is {request.status}; only requested or approved mints can be rejected")
    return _append(request, [NewEvent("mint_rejected", {"code": "rejected", "reason": reason})], actor)


def _owed_back(request: MintRequest) -> list[Posting]:
    """Shares secured for a mint that will not happen are owed back to the partner (pending-redeem)."""
    if request.secured_at is None:
        return []
    symbol = request.instrument.symbol
    return _move(pending_mint_account(request.partner_id, symbol), pending_redeem_account(request.partner_id, symbol),
                 symbol, request.qty_shares)


def cancel_mint(request_id: str, actor: str, reason: str) -> MintRequest:
    """Cancel before minting. Shares already secured become owed back to the partner (pending-redeem)."""
    request = get_mint(request_id)
    if request.status not in (Status.REQUESTED, Status.APPROVED, Status.SECURED):
        raise InvalidState(f"mint {request_id} is {request.status}; it can no longer be cancelled")
    event = NewEvent("mint_cancelled", {"code": "cancelled", "reason": reason,
                                        "shares_owed_back": request.qty_shares if request.secured_at else None},
                     postings=_owed_back(request))
    return _append(request, [event], actor)


# --- shares ---

def market_account(custody_account: str, symbol: str) -> str:
    return f"market:{custody_account}:{symbol}"


def secure_shares(request_id: str, actor: str, *, via: str = "journal", reference: str = "") -> MintRequest:
    """Record that the shares behind a mint are ours to back it, and whose they are.

    via="journal": the partner journaled them to us (ops confirm, or the broker's tokenization request shows
    the journal). Custody's Alpaca sync books every share journal (JNLS) exactly once: custody:<account>:<SYM>
    +shares against the incoming clearing account suspense:unmatched-journal:<account>:<SYM> (no journal matcher
    claims mint journals). So this event does not touch custody; it claims the journal for the partner's mint by
    moving it out of the clearing account: unmatched_journal_account(<account>, <SYM>) +shares,
    partner:<id>:pending-mint:<SYM> -shares. Either order balances:
      - sync first: the JNLS left the clearing account at -shares; this brings it back to zero;
      - ops confirm first: the clearing account is +shares for a while (a journal expected, not yet seen),
        and the sync's later JNLS booking nets it to zero.
    The reserve check counts only custody:*:<SYM> (less shares owed back to partners, journaled in and held by
    no request, or released and not yet booked out), so a mint is never signed before custody has booked the
    shares: process_mint syncs the broker account first, and while a claimed journal is still missing from the
    broker's feed (the incoming clearing account is positive) the mint waits instead of failing. Shares
    journaled out have a clearing account of their own (journal_counter_account), so a release waiting to be
    booked out cannot cancel out a claimed journal waiting to arrive.
    (A statement custodian has no journal feed: there this event credits custody:<account>:<SYM> itself,
    see journal_counter_account.)

    via="broker": custody buys them for this request (place_order_for_request, idempotent per request; call
    again while the order is open). Custody books the fill (custody +shares / market -shares), so this event
    only assigns the bought shares to the partner's mint: market:<account>:<SYM> +shares, pending-mint -shares.
    """
    request = get_mint(request_id)
    if request.status == Status.REQUESTED:
        raise SecondApprovalRequired(f"mint {request_id} waits for a second approval before shares are secured")
    if request.status != Status.APPROVED:
        raise InvalidState(f"mint {request_id} is {request.status}, not waiting for shares")
    symbol = request.instrument.symbol
    if via == "broker":
        reference = _buy_through_broker(request)
        source_account = market_account(request.custody_account, symbol)
    elif via == "journal":
        source_account = journal_counter_account(request.custody_account, symbol, "in")
    else:
        raise InvalidState(f"shares are secured by journal or broker, not {via!r}")
    event = NewEvent("shares_secured", {"via": via, "custody_account": request.custody_account, "reference": reference,
                                        "qty_shares": request.qty_shares},
                     postings=_move(source_account, pending_mint_account(request.partner_id, symbol), symbol,
                                    request.qty_shares))
    return _append(request, [event], actor)


def _buy_through_broker(request: MintRequest) -> str:
    from custody.services import place_order_for_request

    outcome = place_order_for_request(request.id, request.instrument.symbol, request.qty_shares, "buy",
                                      request.custody_account, actor=SYSTEM_ACTOR)
    if not outcome.filled:
        raise SharesPending(f"broker order {outcome.broker_order_id} for mint {request.id} is {outcome.status} "
                            f"({outcome.filled_qty} of {request.qty_shares} filled)")
    return outcome.broker_order_id


def return_shares(request_id: str, actor: str, reference: str) -> MintRequest:
    """Record that the shares secured for a mint that ended without minting (cancelled or failed) went back to
    the partner, e.g. journaled back by operations; `reference` names that movement (the broker journal).

    Cancelling or failing such a mint already moved the shares from pending-mint to what we owe the partner
    (partner:<id>:pending-redeem:<SYM> -shares, see _owed_back). This event settles that debt as a redemption
    settles its own: partner:<id>:pending-redeem:<SYM> +shares against the journal's counter account (the
    outgoing clearing account suspense:outgoing-journal:<account>:<SYM> at a broker, whose sync books the
    outgoing JNLS from custody; see journal_counter_account).
    Refused for a mint that is not cancelled or failed (InvalidState), one that never had shares secured
    (NoSharesOwed) and one whose shares were already returned (SharesAlreadyReturned); two concurrent calls
    cannot both record it (the append expects the stream version read here).
    """
    request = get_mint(request_id)
    if request.status not in (Status.CANCELLED, Status.FAILED):
        raise InvalidState(f"mint {request_id} is {request.status}; shares are returned only for a cancelled or "
                           f"failed mint")
    if request.secured_at is None:
        raise NoSharesOwed(f"mint {request_id} ended before any shares were secured for it")
    earlier = next((event for event in store.read_stream("mint_request", request.id)
                    if event.event_type == "shares_returned"), None)
    if earlier is not None:
        raise SharesAlreadyReturned(f"the shares of mint {request_id} were already returned (reference "
                                    f"{earlier.payload['reference']!r}, ledger position {earlier.position})")
    symbol = request.instrument.symbol
    event = NewEvent("shares_returned", {"custody_account": request.custody_account, "reference": reference,
                                         "qty_shares": request.qty_shares},
                     postings=_move(pending_redeem_account(request.partner_id, symbol),
                                    journal_counter_account(request.custody_account, symbol, "out"), symbol,
                                    request.qty_shares))
    return _append(request, [event], actor)


# --- the worker ---

def process_mint(request_id: str, *, wait_seconds: Decimal | float | None = None) -> MintRequest:
    """Advance a mint as far as it can go now: secure shares seen at the broker, reserve and sign, broadcast,
    follow the receipt (up to `wait_seconds`, default ISSUANCE_RECEIPT_WAIT_SECONDS), confirm, report.

    Before an ITN mint is secured, and before any secured mint is reserved, custody's sync of the request's
    broker account runs first, so the broker's journal is booked in custody before it is counted by the
    reserve check. A broker that cannot
    be reached (BrokerUnavailable) leaves the request where it is, with nothing recorded for it.

    Safe to run at any time, any number of times, by several workers at once, and after a crash at any point:
    every step reads the recorded state, and a signed transaction is only ever rebroadcast.
    """
    from . import broker

    wait = Decimal(str(settings.ISSUANCE_RECEIPT_WAIT_SECONDS if wait_seconds is None else wait_seconds))
    deadline = time.monotonic() + float(wait)
    request = get_mint(request_id)
    waiting_for_journal = request.status == Status.SECURED or (request.source == "itn" and request.status == Status.APPROVED)
    if waiting_for_journal and _at_broker(request.custody_account):
        if not _custody_booked_broker_journals(request):
            return request
    while True:
        request = get_mint(request_id)
        if request.status == Status.APPROVED:
            if request.source != "itn" or not broker.itn_shares_journaled(request):
                return request  # waiting for the partner's shares (ops confirm with secure_shares)
            secure_shares(request.id, SYSTEM_ACTOR, via="journal", reference=f"itn:{request.itn_request_id}")
        elif request.status == Status.SECURED:
            if not _reserve_and_sign(request):
                return get_mint(request_id)  # held: its journal is not booked yet, or another worker moved it
        elif request.status == Status.SIGNED:
            _broadcast(request, reason="signed")
        elif request.status == Status.BROADCAST:
            if not _follow_receipt(request, deadline):
                return get_mint(request_id)
        elif request.status == Status.CONFIRMED:
            _complete(request)
        else:
            return request


def _at_broker(custody_account: str) -> bool:
    return CustodyAccount.objects.filter(name=custody_account, kind=CustodyAccount.Kind.ALPACA).exists()


def _custody_booked_broker_journals(request: MintRequest) -> bool:
    """Run custody's sync of the request's custody account (it books the JNLS the broker made for an ITN mint).
    False when the broker cannot be reached now: try again on the next run."""
    try:
        sync_account(request.custody_account)
    except BrokerUnavailable:
        return False
    return True


def _reserve_and_sign(request: MintRequest) -> bool:
    """Reserve, allocate the nonce and record the signed mint; False when the mint is held, not signed."""
    network = chain_client.network(request.network)
    w3 = chain_client.web3_for(network)
    minter = signers.signer("minter", network.name)
    gas = gas_params_from_head(w3, settings.ISSUANCE_GAS_LIMIT)
    chain_pending = w3.eth.get_transaction_count(minter.address, "pending")
    with transaction.atomic():
        lock(f"reserve:{request.instrument_id}")
        request = get_mint(request.id)  # what other workers did while we waited for the lock
        if request.status != Status.SECURED:
            return True  # another worker moved it on
        instrument = Instrument.objects.get(pk=request.instrument_id)
        try:
            check_mint_rules(request.partner, instrument, request.deployment, request.wallet_address, request.qty,
                             excluding_request=request.id)
            check = check_reserves(instrument, request.qty_shares)
        except InstrumentPaused:
            raise  # a pause holds the mint; it proceeds once the instrument is resumed
        except InsufficientReserves as refusal:
            if _journal_not_yet_booked(request):
                return False  # the partner's journal is claimed but not in the broker's feed yet: wait for it
            _fail(request, refusal.code, refusal.message)
            return True
        except IssuanceError as refusal:
            _fail(request, refusal.code, refusal.message)
            return True
        nonce, nonce_append = nonces.allocate(network, minter.address, chain_pending, purpose="mint",
                                              request_id=request.id)
        signed = sign_mint(minter, chain_id=network.chain_id, nonce=nonce, gas=gas,
                           token=request.deployment.contract_address, to=request.wallet_address,
                           amount=int(request.amount_base_units), request_id=id_to_bytes32(request.id))
        event = NewEvent("mint_signed", {
            "signer": minter.address, "nonce": nonce, "tx_hash": signed.tx_hash, "raw_tx": "0x" + signed.raw_tx.hex(),
            "chain_id": network.chain_id, "onchain_request_id": "0x" + id_to_bytes32(request.id).hex(),
            "reserve_check": check.as_payload(),
        })
        store.append_many([StreamAppend("mint_request", request.id, [event], expected_version=request.stream_version),
                           nonce_append], metadata={"actor": SYSTEM_ACTOR, "partner": request.partner_id})
    crash_point("after_sign")
    return True


def _journal_not_yet_booked(request: MintRequest) -> bool:
    """A positive incoming clearing account: journals claimed for mints that custody's sync has not booked yet.
    Not the outgoing one: shares released and not yet booked out are subtracted by the reserve check already,
    and their leaving frees no share for this mint, so waiting for them would not help."""
    if request.secured_via != "journal":
        return False
    symbol = request.instrument.symbol
    return balance(unmatched_journal_account(request.custody_account, symbol), symbol) > 0


def _fail(request: MintRequest, code: str, reason: str) -> MintRequest:
    event = NewEvent("mint_failed", {"code": code, "reason": reason,
                                     "shares_owed_back": request.qty_shares if request.secured_at else None},
                     postings=_owed_back(request))
    return _append(request, [event], SYSTEM_ACTOR)


def _broadcast(request: MintRequest, *, reason: str) -> None:
    """Send the persisted bytes (never re-sign) and record it."""
    w3 = chain_client.web3_for(chain_client.network(request.network))
    try:
        broadcast(w3, bytes.fromhex(request.raw_tx.removeprefix("0x")))
    except NonceAlreadyUsed as taken:
        _fail(request, taken.code, str(taken))
        return
    except BroadcastRejected as refused:
        raise InvalidState(f"node refused mint {request.id}'s transaction; it stays signed and is retried: {refused}") from refused
    crash_point("after_broadcast")
    _append(request, [NewEvent("mint_broadcast", {"tx_hash": request.tx_hash, "first": request.broadcast_at is None,
                                                  "reason": reason})], SYSTEM_ACTOR)


def _follow_receipt(request: MintRequest, deadline: float) -> bool:
    """True when the request moved on (confirmed, failed, rebroadcast); False when it must wait longer."""
    network = chain_client.network(request.network)
    w3 = chain_client.web3_for(network)
    while True:
        status = receipt_status(w3, request.tx_hash, network.confirmations)
        if status.state == TxState.CONFIRMED:
            _confirm(request, status.block_number, status.block_hash, status.confirmations)
            return True
        if status.state == TxState.REVERTED:
            _fail(request, "mint_reverted", f"transaction {request.tx_hash} reverted in block {status.block_number}")
            return True
        if status.state == TxState.NOT_FOUND:  # dropped, or reorged out before it was deep enough
            _broadcast(request, reason="not_found")
            return time.monotonic() < deadline  # a node that keeps losing it is retried by the next run
        if time.monotonic() >= deadline:
            return False
        time.sleep(RECEIPT_POLL_SECONDS)


def _confirm(request: MintRequest, block_number: int, block_hash: str, confirmations: int) -> None:
    symbol = request.instrument.symbol
    event = NewEvent("mint_confirmed", {"tx_hash": request.tx_hash, "block_number": block_number,
                                        "block_hash": block_hash, "confirmations": confirmations,
                                        "qty_shares": request.qty_shares},
                     postings=_move(pending_mint_account(request.partner_id, symbol),
                                    supply_account(request.network, symbol), symbol, request.qty_shares))
    events = [event]
    if request.source != "itn":
        events.append(NewEvent("mint_completed", {"reported_to_broker": False}))
    _append(request, events, SYSTEM_ACTOR)


def _complete(request: MintRequest) -> None:
    from . import broker

    broker.report_mint(request)
    _append(request, [NewEvent("mint_completed", {"reported_to_broker": True})], SYSTEM_ACTOR)


# --- what ops see ---

def pending_mint_ids() -> list[str]:
    """Mints a worker can advance without a person: approved ITN mints, secured, signed, broadcast, confirmed."""
    ready = MintRequest.objects.filter(status__in=(Status.SECURED, Status.SIGNED, Status.BROADCAST, Status.CONFIRMED))
    itn_waiting = MintRequest.objects.filter(status=Status.APPROVED, source="itn")
    return [request.id for request in (ready | itn_waiting).order_by("requested_at")]


# --- the rest of the API, defined in its own modules ---
from .broker import itn_mint_request, poll_itn_mints, report_to_broker  # noqa: E402
from .deployments import deploy_token, retire_deployment  # noqa: E402
from .redemptions import (  # noqa: E402
    assign_held_redeem,
    final_burn,
    get_redeem,
    pending_redeem_ids,
    process_redeem,
    release_shares,
    request_redeem,
)
from .reserves import shares_not_backing  # noqa: E402
from .stats import cycle_time_stats  # noqa: E402
from .watcher import watch_chains  # noqa: E402

__all__ = [
    "request_mint", "approve_mint", "reject_mint", "cancel_mint", "secure_shares", "return_shares", "process_mint",
    "get_mint", "check_mint_rules", "check_reserves", "pending_mint_ids", "itn_mint_request", "poll_itn_mints",
    "report_to_broker", "deploy_token", "retire_deployment", "request_redeem", "process_redeem",
    "assign_held_redeem", "final_burn", "release_shares", "get_redeem", "pending_redeem_ids", "cycle_time_stats",
    "shares_not_backing", "watch_chains",
]
