"""Reorgs (anvil's evm_snapshot/evm_revert): a mint whose transaction leaves the chain is never left completed."""
from __future__ import annotations

from decimal import Decimal

import pytest

from chain.testing import node_call
from issuance import services
from issuance.models import ChainAlert, MintRequest
from ledger.balances import balance

from .support import OPS, network_settings, token_contract

pytestmark = pytest.mark.django_db
TOKEN = 10**18


def secured_mint(partner, token, keys, book_share_journal, qty="4"):
    request = services.request_mint(partner, token.instrument.symbol, qty, "anvil", keys.partner_wallet.address,
                                    "partner:x")
    book_share_journal(token.instrument.symbol, qty)
    return services.secure_shares(request.id, OPS)


def test_a_completed_mint_reorged_out_is_reversed_and_minted_again(partner, token, keys, w3, book_share_journal):
    symbol = token.instrument.symbol
    request = secured_mint(partner, token, keys, book_share_journal)
    snapshot = node_call(w3, "evm_snapshot")
    assert services.process_mint(request.id).status == MintRequest.Status.COMPLETED
    assert node_call(w3, "evm_revert", snapshot) is True  # the block holding the mint is gone
    contract = token_contract(w3, token.contract_address)
    assert contract.functions.totalSupply().call() == 0

    summary = services.watch_chains()
    assert summary.reorged_mints == [request.id]
    reorged = services.get_mint(request.id)
    assert reorged.status == MintRequest.Status.BROADCAST  # back in flight, not "completed"
    assert balance(f"chain:anvil:{symbol}:supply", symbol) == 0
    assert balance(f"partner:{partner}:pending-mint:{symbol}", symbol) == Decimal("-4")
    assert ChainAlert.objects.filter(kind="mint_reorged", severity="critical", tx_hash=reorged.tx_hash).count() == 1

    again = services.process_mint(request.id)
    assert again.status == MintRequest.Status.COMPLETED and again.tx_hash == reorged.tx_hash
    assert contract.functions.totalSupply().call() == 4 * TOKEN
    assert balance(f"chain:anvil:{symbol}:supply", symbol) == Decimal("-4")


def test_a_mint_reorged_out_before_its_confirmations_is_rebroadcast_and_waits_for_them(partner, token, keys, w3,
                                                                                       settings, anvil,
                                                                                       book_share_journal):
    settings.CHAIN_NETWORKS = network_settings(anvil.url, confirmations=3)
    request = secured_mint(partner, token, keys, book_share_journal, "2")
    snapshot = node_call(w3, "evm_snapshot")
    pending = services.process_mint(request.id, wait_seconds=0)
    assert pending.status == MintRequest.Status.BROADCAST  # mined, one block deep of three
    node_call(w3, "evm_revert", snapshot)
    assert services.process_mint(request.id, wait_seconds=0).status == MintRequest.Status.BROADCAST  # rebroadcast
    node_call(w3, "evm_mine")
    node_call(w3, "evm_mine")
    done = services.process_mint(request.id, wait_seconds=0)
    assert done.status == MintRequest.Status.COMPLETED
    assert token_contract(w3, token.contract_address).functions.totalSupply().call() == 2 * TOKEN
