"""Mints on anvil: request, approval, shares, reserve check, signing, broadcast, confirmation, completion."""
from __future__ import annotations

from decimal import Decimal

import pytest

from chain.tx import id_to_bytes32
from custody.services import unmatched_journal_account
from issuance import services
from issuance.errors import (
    InstrumentPaused,
    InvalidState,
    SecondApprovalRequired,
    SelfApproval,
)
from issuance.models import MintRequest
from ledger import store
from ledger.balances import balance
from ledger.errors import IdempotencyConflict

from .support import OPS, book_custody_shares, token_contract

pytestmark = pytest.mark.django_db
PARTNER_ACTOR = "partner:self"


def mint_to_completion(partner, token, wallet, book_share_journal, qty="10", actor=PARTNER_ACTOR) -> MintRequest:
    request = services.request_mint(partner, token.instrument.symbol, qty, "anvil", wallet, actor)
    book_share_journal(token.instrument.symbol, qty)
    services.secure_shares(request.id, OPS, via="journal", reference="JNLS test")
    return services.process_mint(request.id)


def test_a_partner_gets_one_token_per_share_delivered_and_the_books_follow_each_step(partner, token, keys, w3,
                                                                                     book_share_journal):
    symbol = token.instrument.symbol
    request = services.request_mint(partner, symbol, "10.5", "anvil", keys.partner_wallet.address.lower(),
                                    PARTNER_ACTOR)
    assert request.status == MintRequest.Status.APPROVED  # below the threshold: approved at once
    assert request.wallet_address == keys.partner_wallet.address  # stored checksummed
    assert request.amount_base_units == Decimal("10500000000000000000")

    book_share_journal(symbol, "10.5")  # custody's sync sees the JNLS: in custody, owner not yet known
    assert balance(f"custody:alpaca-main:{symbol}", symbol) == Decimal("10.5")
    assert balance(unmatched_journal_account("alpaca-main", symbol), symbol) == Decimal("-10.5")
    services.secure_shares(request.id, OPS, via="journal", reference="JNLS 123")
    assert balance(f"custody:alpaca-main:{symbol}", symbol) == Decimal("10.5")  # booked once, by the sync
    assert balance(unmatched_journal_account("alpaca-main", symbol), symbol) == 0
    assert balance(f"partner:{partner}:pending-mint:{symbol}", symbol) == Decimal("-10.5")

    done = services.process_mint(request.id)
    assert done.status == MintRequest.Status.COMPLETED
    contract = token_contract(w3, token.contract_address)
    assert contract.functions.totalSupply().call() == 10_500_000_000_000_000_000
    assert contract.functions.balanceOf(keys.partner_wallet.address).call() == 10_500_000_000_000_000_000
    assert contract.functions.mintedFor(id_to_bytes32(request.id)).call() == 10_500_000_000_000_000_000
    assert balance(f"partner:{partner}:pending-mint:{symbol}", symbol) == 0
    assert balance(f"chain:anvil:{symbol}:supply", symbol) == Decimal("-10.5")
    assert [e.event_type for e in store.read_stream("mint_request", request.id)] == [
        "mint_requested", "mint_approved", "shares_secured", "mint_signed", "mint_broadcast", "mint_confirmed",
        "mint_completed"]
    assert all([done.requested_at, done.approved_at, done.secured_at, done.signed_at, done.broadcast_at,
                done.confirmed_at, done.completed_at])
    assert done.requested_at <= done.signed_at <= done.broadcast_at <= done.confirmed_at

    # Running the worker again changes nothing: no second transaction, no second posting.
    again = services.process_mint(request.id)
    assert again.stream_version == done.stream_version
    assert contract.functions.totalSupply().call() == 10_500_000_000_000_000_000


def test_ops_may_confirm_a_journal_before_custody_books_it_and_the_books_still_meet(partner, token, keys,
                                                                                   book_share_journal):
    symbol = token.instrument.symbol
    clearing = unmatched_journal_account("alpaca-main", symbol)
    request = services.request_mint(partner, symbol, "3", "anvil", keys.partner_wallet.address, PARTNER_ACTOR)
    services.secure_shares(request.id, OPS, via="journal", reference="JNLS seen in the broker's dashboard")
    assert balance(clearing, symbol) == Decimal(3)  # a journal expected, not yet seen by custody
    assert balance(f"custody:alpaca-main:{symbol}", symbol) == 0

    book_share_journal(symbol, "3")  # the next custody sync sees it
    assert balance(clearing, symbol) == 0
    assert balance(f"custody:alpaca-main:{symbol}", symbol) == Decimal(3)
    assert services.process_mint(request.id).status == MintRequest.Status.COMPLETED
    assert balance(f"chain:anvil:{symbol}:supply", symbol) == Decimal(-3)
    assert balance(f"custody:alpaca-main:{symbol}", symbol) == Decimal(3)


def test_a_large_mint_waits_for_a_second_person_who_is_not_the_requester(partner, token, keys, settings,
                                                                         book_share_journal):
    settings.MINT_APPROVAL_THRESHOLD = Decimal("100")
    request = services.request_mint(partner, token.instrument.symbol, "500", "anvil", keys.partner_wallet.address,
                                    "user:alice")
    assert request.status == MintRequest.Status.REQUESTED and request.needs_second_approval
    with pytest.raises(SecondApprovalRequired):
        services.secure_shares(request.id, OPS)
    with pytest.raises(SelfApproval) as refused:
        services.approve_mint(request.id, "user:alice")
    assert refused.value.code == "self_approval"
    with pytest.raises(SecondApprovalRequired):
        services.approve_mint(request.id, "system:robot")
    approved = services.approve_mint(request.id, "user:bob")
    assert (approved.status, approved.approved_by) == (MintRequest.Status.APPROVED, "user:bob")
    with pytest.raises(InvalidState):
        services.approve_mint(request.id, "user:carol")
    book_share_journal(token.instrument.symbol, "500")
    services.secure_shares(request.id, OPS)
    assert services.process_mint(request.id).status == MintRequest.Status.COMPLETED


def test_a_retry_with_the_same_idempotency_key_returns_the_first_request(partner, token, keys):
    args = (partner, token.instrument.symbol, "3", "anvil", keys.partner_wallet.address, PARTNER_ACTOR)
    first = services.request_mint(*args, idempotency_key="order-1")
    assert services.request_mint(*args, idempotency_key="order-1").id == first.id
    with pytest.raises(IdempotencyConflict):
        services.request_mint(partner, token.instrument.symbol, "4", "anvil", keys.partner_wallet.address,
                              PARTNER_ACTOR, idempotency_key="order-1")
    assert MintRequest.objects.filter(partner_id=partner).count() == 1


def test_a_paused_instrument_holds_a_secured_mint_until_it_is_resumed(partner, token, keys, w3, book_share_journal):
    request = services.request_mint(partner, token.instrument.symbol, "2", "anvil", keys.partner_wallet.address,
                                    PARTNER_ACTOR)
    book_share_journal(token.instrument.symbol, "2")
    services.secure_shares(request.id, OPS)
    token.instrument.status = "paused"
    token.instrument.save()
    with pytest.raises(InstrumentPaused):
        services.process_mint(request.id)
    assert services.get_mint(request.id).status == MintRequest.Status.SECURED
    assert token_contract(w3, token.contract_address).functions.totalSupply().call() == 0
    token.instrument.status = "active"
    token.instrument.save()
    assert services.process_mint(request.id).status == MintRequest.Status.COMPLETED


def test_a_mint_cancelled_after_the_shares_arrived_owes_them_back_to_the_partner(partner, token, keys):
    symbol = token.instrument.symbol
    request = services.request_mint(partner, symbol, "5", "anvil", keys.partner_wallet.address, PARTNER_ACTOR)
    services.secure_shares(request.id, OPS)
    cancelled = services.cancel_mint(request.id, OPS, "partner changed its mind")
    assert cancelled.status == MintRequest.Status.CANCELLED
    assert balance(f"partner:{partner}:pending-mint:{symbol}", symbol) == 0
    assert balance(f"partner:{partner}:pending-redeem:{symbol}", symbol) == Decimal("-5")
    assert services.process_mint(request.id).status == MintRequest.Status.CANCELLED
    with pytest.raises(InvalidState):
        services.cancel_mint(request.id, OPS, "twice")


def test_shares_missing_from_custody_at_mint_time_fail_the_mint_with_the_reason(partner, token, keys, w3,
                                                                                book_share_journal):
    symbol = token.instrument.symbol
    request = services.request_mint(partner, symbol, "8", "anvil", keys.partner_wallet.address, PARTNER_ACTOR)
    book_share_journal(symbol, "8")
    services.secure_shares(request.id, OPS)
    book_custody_shares(symbol, "-3", reason="custodian statement shows 3 fewer shares")
    failed = services.process_mint(request.id)
    assert (failed.status, failed.failure_code) == (MintRequest.Status.FAILED, "insufficient_reserves")
    assert "exceeds 5 shares in custody" in failed.failure_reason
    assert failed.tx_hash == ""
    assert token_contract(w3, token.contract_address).functions.totalSupply().call() == 0


def test_cycle_times_report_p50_and_p95_per_stage(partner, token, keys, book_share_journal):
    for qty in ("1", "2", "3"):
        mint_to_completion(partner, token, keys.partner_wallet.address, book_share_journal, qty)
    stats = services.cycle_time_stats(token.instrument.symbol)
    assert stats["count"] == 3
    assert stats["request_to_confirmed"]["count"] == 3
    assert Decimal(0) <= stats["request_to_confirmed"]["p50"] <= stats["request_to_confirmed"]["p95"] < Decimal(5)
    assert set(stats) >= {"approval", "shares", "reserve_and_sign", "broadcast", "confirmation", "report"}
