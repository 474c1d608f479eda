"""Bulk reads for reconciliation: supplies and balances at a pinned block, Transfer history, and no silent zeros."""
from __future__ import annotations

from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from chain.anvil import free_port, start_anvil
from chain.deploy import MINTER_ROLE, deploy_aggregator, deploy_contract, grant_role
from chain.errors import ChainReadFailed, ChainUnavailable
from chain.reads import balances_of, total_supplies, transfer_logs
from chain.rpc import connect
from chain.testing import ChainHarness, dev_actors
from chain.tx import TxState, id_to_bytes32, receipt_status, sign_mint

SHARE = 10**18


def mint(chain: ChainHarness, token: str, to: str, amount: int, request_key: str) -> None:
    minter = chain.actors.minter
    signed = sign_mint(
        minter,
        chain_id=chain.chain_id,
        nonce=chain.nonce(minter),
        gas=chain.gas(),
        token=token,
        to=to,
        amount=amount,
        request_id=id_to_bytes32(request_key),
    )
    assert chain.execute(signed).state is TxState.CONFIRMED


def deploy_tokens(chain: ChainHarness, count: int) -> list[str]:
    admin = chain.actors.admin
    tokens = []
    for index in range(count):
        token = deploy_contract(chain.w3, admin, "ShareToken", [f"Stock {index}", f"STK{index}x", 18, admin.address])
        grant_role(chain.w3, admin, token, MINTER_ROLE, chain.actors.minter.address)
        tokens.append(token)
    return tokens


def test_batched_supplies_equal_one_by_one_reads_at_the_pinned_block_and_ignore_later_mints(chain: ChainHarness):
    tokens = deploy_tokens(chain, 5)
    for index, token in enumerate(tokens):
        mint(chain, token, chain.actors.holder_a.address, (index + 1) * SHARE, f"seed-{index}")
    pinned_block = chain.w3.eth.block_number

    mint(chain, tokens[0], chain.actors.holder_a.address, 1000 * SHARE, "after-the-snapshot")

    # chunk_size 2 makes five tokens take three aggregate3 calls
    supplies = total_supplies(chain.w3, chain.deployment.aggregator, tokens, pinned_block, chunk_size=2)
    one_by_one = {
        token: chain.contract("ShareToken", token).functions.totalSupply().call(block_identifier=pinned_block)
        for token in tokens
    }
    assert supplies == one_by_one == {token: (index + 1) * SHARE for index, token in enumerate(tokens)}
    at_head = total_supplies(chain.w3, chain.deployment.aggregator, tokens, chain.w3.eth.block_number)
    assert at_head[tokens[0]] == 1001 * SHARE != supplies[tokens[0]]


def test_holder_balances_read_in_batch_match_balance_of(chain: ChainHarness):
    token = chain.deployment.token
    holders = [chain.actors.holder_a, chain.actors.holder_b, chain.actors.outsider]
    mint(chain, token, holders[0].address, 3 * SHARE, "to-a")
    mint(chain, token, holders[1].address, 5 * SHARE, "to-b")
    pinned_block = chain.w3.eth.block_number

    balances = balances_of(
        chain.w3, chain.deployment.aggregator, token, [h.address for h in holders], pinned_block, chunk_size=2
    )

    assert balances == {holders[0].address: 3 * SHARE, holders[1].address: 5 * SHARE, holders[2].address: 0}


def test_an_address_without_a_token_contract_is_a_read_failure_not_a_zero_supply(chain: ChainHarness):
    not_a_token = chain.actors.outsider.address
    with pytest.raises(ChainReadFailed, match=not_a_token):
        total_supplies(chain.w3, chain.deployment.aggregator, [not_a_token], chain.w3.eth.block_number)


def test_reading_at_a_block_the_node_has_pruned_fails(chain: ChainHarness):
    pinned_block = chain.w3.eth.block_number
    chain.rpc("anvil_mine", 300)  # the session node keeps the last 256 block states

    with pytest.raises(ChainReadFailed):
        total_supplies(chain.w3, chain.deployment.aggregator, [chain.deployment.token], pinned_block)


def test_transfer_history_decodes_mint_transfer_and_block_identity(chain: ChainHarness):
    token = chain.deployment.token
    holder_a, holder_b = chain.actors.holder_a, chain.actors.holder_b
    first_block = chain.w3.eth.block_number + 1
    mint(chain, token, holder_a.address, 9 * SHARE, "history")
    chain.rpc("anvil_mine", 3)
    chain.act_as(holder_a, chain.token.functions.transfer(holder_b.address, 2 * SHARE))
    last_block = chain.w3.eth.block_number

    # one block per query: the range is walked in five queries
    transfers = transfer_logs(chain.w3, token, first_block, last_block, blocks_per_query=1)

    assert [(t.from_address, t.to_address, t.value) for t in transfers] == [
        ("0x0000000000000000000000000000000000000000", holder_a.address, 9 * SHARE),
        (holder_a.address, holder_b.address, 2 * SHARE),
    ]
    for transfer in transfers:
        status = receipt_status(chain.w3, transfer.tx_hash)
        assert (status.block_number, status.block_hash) == (transfer.block_number, transfer.block_hash)


def test_an_unreachable_node_raises_chain_unavailable_never_zeros(tmp_path: Path):
    admin: LocalAccount = dev_actors().admin
    with start_anvil(free_port(), tmp_path) as node:
        w3 = connect(node.url, timeout_seconds=2)
        aggregator = deploy_aggregator(w3, admin)
        block = w3.eth.block_number
        assert total_supplies(w3, aggregator, [], block) == {}

    with pytest.raises(ChainUnavailable):
        total_supplies(w3, aggregator, [aggregator], block)
    with pytest.raises(ChainUnavailable):
        balances_of(w3, aggregator, aggregator, [admin.address], block)
    with pytest.raises(ChainUnavailable):
        transfer_logs(w3, aggregator, 0, block)
    with pytest.raises(ChainUnavailable):
        receipt_status(w3, "0x" + "00" * 32)
