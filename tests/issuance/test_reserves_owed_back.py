"""Shares owed back to a partner back no new tokens: after a burn their shares sit in custody until they are
released, and a mint whose own journal has not been booked yet must wait for it rather than sign against them."""
from __future__ import annotations

from decimal import Decimal

import pytest

from issuance import services
from issuance.models import MintRequest, RedeemRequest
from issuance.reserves import reserve_check
from ledger.balances import balance

from .support import OPS, transfer_tokens

pytestmark = pytest.mark.django_db
TOKEN = 10**18


def burned_redemption(partner, token, keys, w3, book_share_journal) -> RedeemRequest:
    """10 tokens minted against 10 booked shares, then sent back and burned: the 10 shares are owed back."""
    symbol = token.instrument.symbol
    mint = services.request_mint(partner, symbol, "10", "anvil", keys.partner_wallet.address, "partner:x")
    book_share_journal(symbol, "10")
    services.secure_shares(mint.id, OPS)
    assert services.process_mint(mint.id).status == MintRequest.Status.COMPLETED
    deposit = transfer_tokens(w3, keys.partner_wallet, token.contract_address, keys.redemption_wallet.address,
                              10 * TOKEN)
    services.watch_chains()
    burned = services.process_redeem(RedeemRequest.objects.get(deposit_tx_hash=deposit).id)
    assert burned.status == RedeemRequest.Status.BURNED
    assert balance(f"partner:{partner}:pending-redeem:{symbol}", symbol) == Decimal(-10)
    return burned


def test_a_mint_whose_journal_is_not_booked_waits_instead_of_signing_against_shares_owed_back(
        partner, token, keys, w3, book_share_journal):
    symbol = token.instrument.symbol
    burned_redemption(partner, token, keys, w3, book_share_journal)
    mint = services.request_mint(partner, symbol, "10", "anvil", keys.partner_wallet.address, "partner:x")
    services.secure_shares(mint.id, OPS, via="journal", reference="expected, never arrives")

    held = services.process_mint(mint.id)

    assert held.status == MintRequest.Status.SECURED and not held.tx_hash
    assert balance(f"chain:anvil:{symbol}:supply", symbol) == 0
    book_share_journal(symbol, "10")  # the partner's journal shows up in the broker's feed
    assert services.process_mint(mint.id).status == MintRequest.Status.COMPLETED


def test_shares_owed_back_or_on_their_way_out_back_no_new_tokens(partner, token, keys, w3, book_share_journal):
    symbol = token.instrument.symbol
    burned = burned_redemption(partner, token, keys, w3, book_share_journal)

    owed = reserve_check(token.instrument, Decimal(1))
    assert (owed.custody_shares, owed.owed_back_shares, owed.reserve_shares) == (Decimal(10), Decimal(10), 0)
    assert not owed.passes

    w3.provider.make_request("anvil_mine", [hex(70)])  # the burn is beyond the reorg window
    # the broker has not booked the journal yet
    services.release_shares(services.final_burn(burned.id), OPS, reference="JNLS back to partner")
    leaving = reserve_check(token.instrument, Decimal(1))
    assert (leaving.custody_shares, leaving.owed_back_shares, leaving.unclaimed_shares, leaving.leaving_shares) == (
        Decimal(10), 0, 0, Decimal(10))
    assert not leaving.passes

    book_share_journal(symbol, "-10")  # custody's sync books the journal out
    gone = reserve_check(token.instrument, Decimal(0))
    assert (gone.custody_shares, gone.reserve_shares, gone.outstanding_shares) == (0, 0, 0) and gone.passes
