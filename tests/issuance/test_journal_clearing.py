"""Share journals in and out of a broker account clear through two accounts, so that shares released to a partner
and not yet booked out cannot hide that a mint's claimed journal has not arrived: with one shared clearing account
the release (-10) and the claimed journal (+10) netted to zero, the reserve check counted the leaving shares as
free and signed the mint before its shares were in custody."""
from __future__ import annotations

from decimal import Decimal

import pytest

from custody.services import outgoing_journal_account, sync_account, unmatched_journal_account
from issuance import services
from issuance.errors import InsufficientReserves
from issuance.models import MintRequest, RedeemRequest
from ledger import store
from ledger.balances import balance
from sandbox_broker import SandboxControl

from .support import OPS, sandbox_broker_for, token_contract, transfer_tokens

pytestmark = pytest.mark.django_db
TOKEN = 10**18


@pytest.fixture
def broker(sandbox, token, monkeypatch) -> SandboxControl:
    return sandbox_broker_for(sandbox.base_url, token.instrument.symbol, monkeypatch)


def request_mint(partner, token, keys, qty: str) -> MintRequest:
    return services.request_mint(partner, token.instrument.symbol, qty, "anvil", keys.partner_wallet.address,
                                 "partner:self")


def released_by_journal_not_yet_booked_out(broker, partner, token, keys, w3) -> None:
    """10 tokens minted against 10 shares journaled in, sent back, burned and released by journal: the broker has
    not journaled the shares out yet, so custody still holds all 10, none of them ours."""
    symbol = token.instrument.symbol
    first = request_mint(partner, token, keys, "10")
    broker.add_share_journal(symbol, "10", description="the partner's journal for the first mint")
    services.secure_shares(first.id, OPS, reference="JNLS 1")
    assert services.process_mint(first.id).status == MintRequest.Status.COMPLETED
    deposit = transfer_tokens(w3, keys.partner_wallet, token.contract_address, keys.redemption_wallet.address,
                              10 * TOKEN)
    services.watch_chains()
    redeem = RedeemRequest.objects.get(deposit_tx_hash=deposit)
    assert services.process_redeem(redeem.id).status == RedeemRequest.Status.BURNED
    w3.provider.make_request("anvil_mine", [hex(64 + 1)])  # the burn is past the reorg window
    services.release_shares(services.final_burn(redeem.id), OPS, reference="JNLS back to the partner")
    assert balance(f"custody:alpaca-main:{symbol}", symbol) == Decimal(10)


def test_a_mint_waits_for_its_journal_while_released_shares_are_still_leaving_custody(broker, partner, token, keys,
                                                                                      w3):
    symbol = token.instrument.symbol
    released_by_journal_not_yet_booked_out(broker, partner, token, keys, w3)
    second = request_mint(partner, token, keys, "10")
    services.secure_shares(second.id, OPS, reference="JNLS 2, announced, not in the broker's feed yet")

    held = services.process_mint(second.id)  # syncs the broker account first: neither journal is there

    assert (held.status, held.failure_code, held.tx_hash) == (MintRequest.Status.SECURED, "", "")
    assert token_contract(w3, token.contract_address).functions.totalSupply().call() == 0
    assert balance(unmatched_journal_account("alpaca-main", symbol), symbol) == Decimal(10)  # expected in
    assert balance(outgoing_journal_account("alpaca-main", symbol), symbol) == Decimal(-10)  # on its way out
    with pytest.raises(InsufficientReserves, match=r"\(10 held, 0 owed back to partners, 0 journaled in and claimed "
                                                   r"by no request, 10 released and not yet booked out\)"):
        services.check_reserves(token.instrument, Decimal(10))

    broker.add_share_journal(symbol, "10", description="the partner's journal for the second mint")
    done = services.process_mint(second.id)

    assert done.status == MintRequest.Status.COMPLETED
    assert token_contract(w3, token.contract_address).functions.totalSupply().call() == 10 * TOKEN
    signed = next(e for e in store.read_stream("mint_request", second.id) if e.event_type == "mint_signed")
    recorded = {name: Decimal(str(value)) for name, value in signed.payload["reserve_check"].items()}
    assert (recorded["custody_shares"], recorded["leaving_shares"], recorded["unclaimed_shares"]) == (20, 10, 0)

    broker.add_share_journal(symbol, "-10", description="the released shares, journaled to the partner")
    sync_account("alpaca-main")
    assert balance(f"custody:alpaca-main:{symbol}", symbol) == Decimal(10)
    assert balance(outgoing_journal_account("alpaca-main", symbol), symbol) == 0
    assert balance(unmatched_journal_account("alpaca-main", symbol), symbol) == 0
    assert balance(f"chain:anvil:{symbol}:supply", symbol) == Decimal(-10)
