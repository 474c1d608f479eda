"""Shares secured for a mint that ends without minting (cancelled, or failed at the reserve check) are owed
back to the partner; `return_shares` records, once, that they went back."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from custody.services import outgoing_journal_account, unmatched_journal_account
from issuance import services
from issuance.errors import InvalidState, NoSharesOwed, SharesAlreadyReturned, UnknownRequest
from issuance.models import MintRequest
from ledger import store
from ledger.balances import balance

from .support import OPS, token_contract

pytestmark = pytest.mark.django_db
PARTNER_ACTOR = "partner:self"


def request(partner, token, keys, qty: str) -> MintRequest:
    return services.request_mint(partner, token.instrument.symbol, qty, "anvil", keys.partner_wallet.address,
                                 PARTNER_ACTOR)


def test_the_shares_of_a_cancelled_mint_go_back_to_the_partner_once(partner, token, keys, book_share_journal):
    symbol = token.instrument.symbol
    mint = request(partner, token, keys, "5")
    book_share_journal(symbol, "5")
    services.secure_shares(mint.id, OPS)
    services.cancel_mint(mint.id, OPS, "partner changed its mind")
    assert balance(f"custody:alpaca-main:{symbol}", symbol) == Decimal(5)
    assert balance(f"partner:{partner}:pending-redeem:{symbol}", symbol) == Decimal(-5)  # owed back

    returned = services.return_shares(mint.id, OPS, "JNLS back to the partner 42")
    assert returned.status == MintRequest.Status.CANCELLED
    assert balance(f"partner:{partner}:pending-redeem:{symbol}", symbol) == 0
    assert balance(f"partner:{partner}:pending-mint:{symbol}", symbol) == 0
    assert balance(f"custody:alpaca-main:{symbol}", symbol) == Decimal(5)  # until the broker's feed shows it
    assert balance(outgoing_journal_account("alpaca-main", symbol), symbol) == Decimal(-5)
    assert balance(unmatched_journal_account("alpaca-main", symbol), symbol) == 0  # the journal in stays cleared
    book_share_journal(symbol, "-5")  # custody's sync books the journal back, once
    assert balance(f"custody:alpaca-main:{symbol}", symbol) == 0
    assert balance(outgoing_journal_account("alpaca-main", symbol), symbol) == 0
    last = store.read_stream("mint_request", mint.id)[-1]
    assert (last.event_type, last.metadata["actor"], last.payload["reference"]) == (
        "shares_returned", OPS, "JNLS back to the partner 42")

    head = store.head_position()
    with pytest.raises(SharesAlreadyReturned) as refused:
        services.return_shares(mint.id, OPS, "JNLS back again")
    assert refused.value.code == "shares_already_returned" and "JNLS back to the partner 42" in refused.value.message
    assert store.head_position() == head
    assert balance(f"custody:alpaca-main:{symbol}", symbol) == 0


def test_a_mint_confirmed_before_custody_saw_the_journal_waits_unsigned_until_custody_books_it(
        partner, token, keys, w3, book_share_journal):
    symbol = token.instrument.symbol
    clearing = unmatched_journal_account("alpaca-main", symbol)
    mint = request(partner, token, keys, "4")
    services.secure_shares(mint.id, OPS)  # ops confirm a journal custody has not booked
    assert balance(clearing, symbol) == Decimal(4)

    held = services.process_mint(mint.id)
    assert (held.status, held.failure_code, held.tx_hash) == (MintRequest.Status.SECURED, "", "")
    assert token_contract(w3, token.contract_address).functions.totalSupply().call() == 0

    book_share_journal(symbol, "4")  # the custody sync sees the journal after all
    assert balance(clearing, symbol) == 0
    done = services.process_mint(mint.id)
    assert done.status == MintRequest.Status.COMPLETED
    assert token_contract(w3, token.contract_address).functions.totalSupply().call() == 4 * 10**18
    assert balance(f"custody:alpaca-main:{symbol}", symbol) == Decimal(4)
    assert balance(f"chain:anvil:{symbol}:supply", symbol) == Decimal(-4)


def test_shares_are_returned_only_for_an_ended_mint_that_had_them(partner, token, keys, book_share_journal):
    symbol = token.instrument.symbol
    never_secured = request(partner, token, keys, "1")
    services.cancel_mint(never_secured.id, OPS, "no shares came")
    rejected = request(partner, token, keys, "1")
    services.reject_mint(rejected.id, OPS, "not today")
    secured = request(partner, token, keys, "2")
    book_share_journal(symbol, "2")
    services.secure_shares(secured.id, OPS)
    completed = request(partner, token, keys, "3")
    book_share_journal(symbol, "3")
    services.secure_shares(completed.id, OPS)
    assert services.process_mint(completed.id).status == MintRequest.Status.COMPLETED

    head = store.head_position()
    for mint_id, refusal in [(never_secured.id, NoSharesOwed), (rejected.id, InvalidState),
                             (secured.id, InvalidState), (completed.id, InvalidState), ("no-such-mint", UnknownRequest)]:
        with pytest.raises(refusal):
            services.return_shares(mint_id, OPS, "JNLS back")
    assert store.head_position() == head
    assert balance(f"custody:alpaca-main:{symbol}", symbol) == Decimal(5)


def test_the_return_shares_command_records_the_return_and_refuses_a_second_in_one_line(partner, token, keys,
                                                                                        book_share_journal):
    mint = request(partner, token, keys, "2")
    book_share_journal(token.instrument.symbol, "2")
    services.secure_shares(mint.id, OPS)
    services.cancel_mint(mint.id, OPS, "wrong wallet")

    out = io.StringIO()
    call_command("return_shares", mint.id, "--actor", "user:alice", "--reference", "JNLS 77", stdout=out)
    assert out.getvalue().strip() == (f"mint {mint.id}: 2 {token.instrument.symbol} shares returned to {partner} "
                                      f"(JNLS 77)")
    assert store.read_stream("mint_request", mint.id)[-1].metadata["actor"] == "user:alice"
    with pytest.raises(CommandError) as refused:
        call_command("return_shares", mint.id, "--actor", "user:alice", "--reference", "JNLS 78")
    assert str(refused.value).startswith("shares_already_returned: ") and "\n" not in str(refused.value)
    assert refused.value.returncode == 1
