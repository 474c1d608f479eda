"""Deposits and burns through reorgs, odd amounts and retired tokens: one deposit is one redemption, a burn
that leaves the chain is undone, and no single log stops the watcher."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from chain.testing import node_call
from chain.tx import gas_params_from_head, id_to_bytes32, sign_mint, sign_transaction
from custody.instruments import change_tokens_per_share
from issuance import services, tasks
from issuance.errors import BurnNotFinal, DepositNotWholeShares
from issuance.models import ChainAlert, RedeemRequest
from ledger import store
from ledger.balances import balance

from .support import OPS, funded_account, minted, token_contract, transfer_tokens

pytestmark = pytest.mark.django_db
TOKEN = 10**18


def signed_transfer(w3, sender, token: str, to: str, amount: int):
    data = token_contract(w3, token).encode_abi("transfer", args=[to, amount])
    return sign_transaction(sender, to=token, data=bytes.fromhex(data.removeprefix("0x")), chain_id=w3.eth.chain_id,
                            nonce=w3.eth.get_transaction_count(sender.address, "pending"),
                            gas=gas_params_from_head(w3, 200_000))


def mine_together(w3, *raw_txs: bytes) -> None:
    """One block holding these transactions in this order."""
    node_call(w3, "evm_setAutomine", False)
    try:
        for raw in raw_txs:
            w3.eth.send_raw_transaction(raw)
        node_call(w3, "evm_mine")
    finally:
        node_call(w3, "evm_setAutomine", True)


def test_a_deposit_reincluded_at_another_log_index_stays_one_redemption(partner, token, keys, w3, book_share_journal):
    minted(partner, token, keys, book_share_journal, "20")
    stranger = funded_account(w3)
    transfer_tokens(w3, keys.partner_wallet, token.contract_address, stranger.address, 7 * TOKEN)
    snapshot = node_call(w3, "evm_snapshot")
    deposit = signed_transfer(w3, keys.partner_wallet, token.contract_address, keys.redemption_wallet.address,
                              6 * TOKEN)
    w3.eth.send_raw_transaction(deposit.raw_tx)
    w3.eth.wait_for_transaction_receipt(deposit.tx_hash)
    assert services.watch_chains().deposits == 1
    first = RedeemRequest.objects.get(deposit_tx_hash=deposit.tx_hash)

    node_call(w3, "evm_revert", snapshot)
    other = signed_transfer(w3, stranger, token.contract_address, funded_account(w3).address, TOKEN)
    mine_together(w3, other.raw_tx, deposit.raw_tx)
    assert w3.eth.get_transaction_receipt(deposit.tx_hash)["logs"][0]["logIndex"] == 1

    assert services.watch_chains().deposits == 0
    assert list(RedeemRequest.objects.filter(deposit_tx_hash=deposit.tx_hash)) == [first]


def burned_with_a_snapshot_before(partner, token, keys, w3, book_share_journal):
    """6 of 10 minted tokens deposited and burned: the redemption, an anvil snapshot from just before the burn,
    and the redemption as burned."""
    minted(partner, token, keys, book_share_journal, "10")
    transfer_tokens(w3, keys.partner_wallet, token.contract_address, keys.redemption_wallet.address, 6 * TOKEN)
    services.watch_chains()
    redeem = RedeemRequest.objects.get(deployment=token)
    snapshot = node_call(w3, "evm_snapshot")
    return redeem, snapshot, services.process_redeem(redeem.id)


def test_a_burn_reorged_out_is_reversed_and_burned_again_and_no_shares_leave_before_it_is_final(
        partner, token, keys, w3, book_share_journal):
    symbol = token.instrument.symbol
    redeem, snapshot, burned = burned_with_a_snapshot_before(partner, token, keys, w3, book_share_journal)
    assert burned.status == RedeemRequest.Status.BURNED
    with pytest.raises(BurnNotFinal):  # a reorg could still undo the burn: the shares stay
        services.final_burn(redeem.id)

    node_call(w3, "evm_revert", snapshot)  # the block holding the burn is gone; the deposit stays
    contract = token_contract(w3, token.contract_address)
    assert contract.functions.totalSupply().call() == 10 * TOKEN
    assert tasks.watch_chains()["reorged_burns"] == [redeem.id]
    reorged = services.get_redeem(redeem.id)
    assert reorged.status == RedeemRequest.Status.BROADCAST
    assert balance(f"chain:anvil:{symbol}:supply", symbol) == Decimal(-10)
    assert balance(f"partner:{partner}:pending-redeem:{symbol}", symbol) == 0
    assert ChainAlert.objects.filter(kind="burn_reorged", severity="critical", tx_hash=burned.tx_hash).count() == 1

    again = services.process_redeem(redeem.id)
    assert again.status == RedeemRequest.Status.BURNED and again.tx_hash == burned.tx_hash
    assert contract.functions.totalSupply().call() == 4 * TOKEN
    assert balance(f"chain:anvil:{symbol}:supply", symbol) == Decimal(-4)
    out = io.StringIO()
    call_command("watch_chains", stdout=out)
    assert "0 reorged burns" in out.getvalue()
    node_call(w3, "anvil_mine", hex(64 + 1))  # the burn is now older than the reorg window (64 blocks)
    released = services.release_shares(services.final_burn(redeem.id), OPS, reference="JNLS")
    assert released.status == RedeemRequest.Status.COMPLETED


def test_a_burn_that_left_the_chain_while_the_watcher_was_down_is_reversed_not_left_burned(
        partner, token, keys, w3, book_share_journal):
    symbol = token.instrument.symbol
    redeem, snapshot, burned = burned_with_a_snapshot_before(partner, token, keys, w3, book_share_journal)
    node_call(w3, "evm_revert", snapshot)  # the burn is gone ...
    node_call(w3, "anvil_mine", hex(64 + 2))  # ... and its recorded block is now older than the reorg window
    assert services.watch_chains().reorged_burns == []  # the watcher re-checks only the window

    with pytest.raises(BurnNotFinal, match="left the chain"):
        services.final_burn(redeem.id)

    assert ChainAlert.objects.filter(kind="burn_reorged", severity="critical", tx_hash=burned.tx_hash).count() == 1
    assert balance(f"chain:anvil:{symbol}:supply", symbol) == Decimal(-10)
    again = services.process_redeem(redeem.id)
    assert again.status == RedeemRequest.Status.BURNED and again.tx_hash == burned.tx_hash
    assert token_contract(w3, token.contract_address).functions.totalSupply().call() == 4 * TOKEN
    assert balance(f"chain:anvil:{symbol}:supply", symbol) == Decimal(-4)


def test_a_deposit_not_exact_in_shares_is_held_for_ops_and_the_watcher_goes_on(partner, token, keys, w3,
                                                                                 book_share_journal):
    minted(partner, token, keys, book_share_journal, "9")
    change_tokens_per_share(token.instrument.symbol, Decimal(3), OPS, "reverse split")
    odd = transfer_tokens(w3, keys.partner_wallet, token.contract_address, keys.redemption_wallet.address, TOKEN)
    whole = transfer_tokens(w3, keys.partner_wallet, token.contract_address, keys.redemption_wallet.address,
                            3 * TOKEN)

    summary = services.watch_chains()

    assert summary.deposits == 2 and summary.unavailable == {}
    held = RedeemRequest.objects.get(deposit_tx_hash=odd)
    assert (held.status, held.qty) == (RedeemRequest.Status.HELD, Decimal(1))
    assert "not an exact number of shares" in ChainAlert.objects.get(kind="redeem_held", tx_hash=odd).detail
    assert services.process_redeem(held.id).status == RedeemRequest.Status.HELD  # nothing burns on its own
    head = store.head_position()
    with pytest.raises(DepositNotWholeShares, match="returned to the sender"):  # a burn would destroy 1 token
        services.assign_held_redeem(held.id, partner, OPS)  # but release 0 shares
    assert store.head_position() == head and services.get_redeem(held.id).status == RedeemRequest.Status.HELD
    received = RedeemRequest.objects.get(deposit_tx_hash=whole)
    assert (received.status, received.qty_shares) == (RedeemRequest.Status.RECEIVED, Decimal(1))


def test_a_mint_nobody_requested_of_tokens_not_exact_in_shares_is_still_alerted(partner, token, keys, w3):
    symbol = token.instrument.symbol
    change_tokens_per_share(symbol, Decimal(3), OPS, "reverse split")
    rogue = sign_mint(keys.minter, chain_id=31337, nonce=w3.eth.get_transaction_count(keys.minter.address, "pending"),
                      gas=gas_params_from_head(w3, 200_000), token=token.contract_address,
                      to=keys.partner_wallet.address, amount=TOKEN, request_id=id_to_bytes32("a bug"))
    w3.eth.send_raw_transaction(rogue.raw_tx)
    w3.eth.wait_for_transaction_receipt(rogue.tx_hash)

    assert services.watch_chains().unexplained == 1

    assert ChainAlert.objects.get(tx_hash=rogue.tx_hash).kind == "unexplained_mint"
    assert balance(f"suspense:unknown-transfer:anvil:{symbol}", symbol) == Decimal("0.333333333333333333")


def reorged_out_deposit(partner, token, keys, w3, book_share_journal):
    """A deposit the watcher recorded whose block then left the chain; returns (redeem, its signed transaction)."""
    minted(partner, token, keys, book_share_journal, "10")
    snapshot = node_call(w3, "evm_snapshot")
    deposit = signed_transfer(w3, keys.partner_wallet, token.contract_address, keys.redemption_wallet.address,
                              4 * TOKEN)
    w3.eth.send_raw_transaction(deposit.raw_tx)
    w3.eth.wait_for_transaction_receipt(deposit.tx_hash)
    services.watch_chains()
    node_call(w3, "evm_revert", snapshot)
    return RedeemRequest.objects.get(deposit_tx_hash=deposit.tx_hash), deposit


def test_a_deposit_briefly_off_chain_waits_and_is_redeemed_once_it_is_back(partner, token, keys, w3,
                                                                            book_share_journal):
    redeem, deposit = reorged_out_deposit(partner, token, keys, w3, book_share_journal)
    assert services.process_redeem(redeem.id, wait_seconds=0).status == RedeemRequest.Status.RECEIVED

    w3.eth.send_raw_transaction(deposit.raw_tx)  # re-included
    w3.eth.wait_for_transaction_receipt(deposit.tx_hash)
    assert services.process_redeem(redeem.id).status == RedeemRequest.Status.BURNED


def test_a_deposit_off_chain_for_longer_than_the_reorg_window_fails(partner, token, keys, w3, book_share_journal):
    redeem, _ = reorged_out_deposit(partner, token, keys, w3, book_share_journal)
    node_call(w3, "anvil_mine", hex(redeem.deposit_block + 64 + 1 - w3.eth.block_number))  # older than the reorg window
    failed = services.process_redeem(redeem.id, wait_seconds=0)
    assert (failed.status, failed.failure_code) == (RedeemRequest.Status.FAILED, "deposit_not_found")


def test_tokens_of_a_retired_deployment_are_still_watched_and_redeemed(partner, token, keys, w3, book_share_journal):
    symbol = token.instrument.symbol
    minted(partner, token, keys, book_share_journal, "10")
    services.retire_deployment(token.id, actor=OPS, reason="redeployed")
    assert services.deploy_token(symbol, "anvil", actor=OPS).id != token.id  # minting goes to the new token
    seen = transfer_tokens(w3, keys.partner_wallet, token.contract_address, keys.redemption_wallet.address, 3 * TOKEN)
    filed = transfer_tokens(w3, keys.partner_wallet, token.contract_address, keys.redemption_wallet.address, 2 * TOKEN)

    assert services.request_redeem(partner, symbol, "anvil", filed, "partner:x").deployment_id == token.id
    assert services.watch_chains().deposits == 1
    redeem = RedeemRequest.objects.get(deposit_tx_hash=seen)
    assert (redeem.deployment_id, redeem.status) == (token.id, RedeemRequest.Status.RECEIVED)
    assert services.process_redeem(redeem.id).status == RedeemRequest.Status.BURNED
    assert token_contract(w3, token.contract_address).functions.totalSupply().call() == 7 * TOKEN
