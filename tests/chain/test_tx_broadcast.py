"""Persist-then-broadcast: a signed mint is one transaction however often it is sent, and reorgs are visible."""
from __future__ import annotations

import pytest

from chain.errors import NonceAlreadyUsed
from chain.testing import ChainHarness
from chain.tx import SignedChainTx, TxState, broadcast, id_to_bytes32, receipt_status, sign_mint

SHARE = 10**18


def signed_mint(chain: ChainHarness, request_key: str, amount: int, nonce: int | None = None) -> SignedChainTx:
    minter = chain.actors.minter
    return sign_mint(
        minter,
        chain_id=chain.chain_id,
        nonce=chain.nonce(minter) if nonce is None else nonce,
        gas=chain.gas(),
        token=chain.deployment.token,
        to=chain.actors.holder_a.address,
        amount=amount,
        request_id=id_to_bytes32(request_key),
    )


def test_a_signed_mint_broadcast_twice_while_pooled_and_again_once_mined_is_one_transaction(chain: ChainHarness):
    signed = signed_mint(chain, "mint-rebroadcast", 4 * SHARE)
    nonce_before = chain.nonce(chain.actors.minter)
    chain.rpc("evm_setAutomine", False)

    assert broadcast(chain.w3, signed.raw_tx) == signed.tx_hash
    assert broadcast(chain.w3, signed.raw_tx) == signed.tx_hash  # "already known" while in the pool
    assert receipt_status(chain.w3, signed.tx_hash).state is TxState.PENDING
    chain.rpc("evm_mine")
    assert broadcast(chain.w3, signed.raw_tx) == signed.tx_hash  # "nonce too low" for this very hash
    chain.rpc("evm_mine")

    assert receipt_status(chain.w3, signed.tx_hash).state is TxState.CONFIRMED
    assert chain.token.functions.totalSupply().call() == 4 * SHARE
    assert chain.nonce(chain.actors.minter) == nonce_before + 1


def test_a_different_transaction_on_a_used_nonce_is_refused_by_name(chain: ChainHarness):
    first = signed_mint(chain, "mint-first", SHARE)
    assert chain.execute(first).state is TxState.CONFIRMED

    conflicting = signed_mint(chain, "mint-other", SHARE, nonce=first.nonce)
    with pytest.raises(NonceAlreadyUsed):
        broadcast(chain.w3, conflicting.raw_tx)
    assert receipt_status(chain.w3, conflicting.tx_hash).state is TxState.NOT_FOUND


def test_a_mint_is_pending_until_it_has_the_confirmations_asked_for(chain: ChainHarness):
    signed = signed_mint(chain, "mint-confirmations", SHARE)
    mined = chain.execute(signed)

    shallow = receipt_status(chain.w3, signed.tx_hash, confirmations=3)
    assert (shallow.state, shallow.block_number, shallow.confirmations) == (TxState.PENDING, mined.block_number, 1)
    chain.rpc("anvil_mine", 2)
    deep = receipt_status(chain.w3, signed.tx_hash, confirmations=3)
    assert (deep.state, deep.block_hash, deep.confirmations) == (TxState.CONFIRMED, mined.block_hash, 3)


def test_a_mint_reorged_out_is_reported_not_found_and_its_bytes_can_be_mined_again(chain: ChainHarness):
    signed = signed_mint(chain, "mint-reorged", 2 * SHARE)
    before_mint = chain.rpc("evm_snapshot")
    first_inclusion = chain.execute(signed)
    assert first_inclusion.state is TxState.CONFIRMED

    chain.rpc("evm_revert", before_mint)  # the block holding the mint is gone
    chain.rpc("anvil_mine", 2)  # and the chain moved on without it

    assert receipt_status(chain.w3, signed.tx_hash).state is TxState.NOT_FOUND
    assert chain.token.functions.totalSupply().call() == 0
    second_inclusion = chain.execute(signed)  # rebroadcast the persisted bytes
    assert second_inclusion.state is TxState.CONFIRMED
    assert second_inclusion.block_hash != first_inclusion.block_hash
    assert chain.token.functions.totalSupply().call() == 2 * SHARE
