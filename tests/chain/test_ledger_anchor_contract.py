"""Anchoring the ledger head on chain: readable by anyone, only forward, only by the owner."""
from __future__ import annotations

from eth_utils import keccak

from chain.testing import ChainHarness
from chain.tx import TxState, TxStatus, sign_anchor


def anchor(chain: ChainHarness, head_hash: bytes, position: int, signer=None) -> TxStatus:
    signer = signer or chain.actors.admin
    signed = sign_anchor(
        signer,
        chain_id=chain.chain_id,
        nonce=chain.nonce(signer),
        gas=chain.gas(),
        anchor=chain.deployment.anchor,
        head_hash=head_hash,
        position=position,
    )
    return chain.execute(signed)


def test_an_anchored_ledger_head_is_readable_from_the_event_and_the_contract(chain: ChainHarness):
    head_hash = keccak(text="ledger head at position 42")

    status = anchor(chain, head_hash, 42)

    assert status.state is TxState.CONFIRMED
    events = chain.anchor.events.Anchored().get_logs(from_block=status.block_number, to_block=status.block_number)
    block_timestamp = chain.w3.eth.get_block(status.block_number)["timestamp"]
    assert [(e.args.headHash, e.args.position, e.args.timestamp) for e in events] == [(head_hash, 42, block_timestamp)]
    assert chain.anchor.functions.latestHeadHash().call() == head_hash
    assert chain.anchor.functions.latestPosition().call() == 42


def test_an_anchor_cannot_move_the_ledger_backwards_or_restate_a_position(chain: ChainHarness):
    anchor(chain, keccak(text="head 10"), 10)

    assert anchor(chain, keccak(text="rewritten head 10"), 10).state is TxState.REVERTED
    assert anchor(chain, keccak(text="head 9"), 9).state is TxState.REVERTED
    assert chain.anchor.functions.latestHeadHash().call() == keccak(text="head 10")


def test_only_the_owner_can_anchor(chain: ChainHarness):
    attempt = chain.anchor.functions.anchor(keccak(text="forged head"), 1)
    assert chain.revert_error(attempt, chain.actors.outsider) == "NotOwner"
