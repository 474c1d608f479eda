"""How fast can reconciliation read the supply of thousands of tokens at one pinned block?

Deploys N ShareTokens (default 2,000) on a fresh anvil, mints a distinct supply into each, then reads every
totalSupply() at the pinned block two ways and prints both rates and their ratio:
  (a) naive: one web3 contract `.call()` per token;
  (b) chain.reads.total_supplies: aggregate3 with calldata encoded by eth_abi, in chunks.
Set-up runs with automine off: all transactions are sent as JSON-RPC batches, then mined with evm_mine
(one transaction per block under automine would take minutes).

    .venv/bin/python bench/chain_supply.py [--tokens 2000] [--chunk-size 1000] [--rounds 5]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import requests
from eth_abi import encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.utils.address import get_create_address

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chain.anvil import DEV_ACCOUNT_KEYS, free_port, start_anvil  # noqa: E402
from chain.artifacts import load_artifact  # noqa: E402
from chain.deploy import MINTER_ROLE, deploy_aggregator, deployment_data, sign_deployment  # noqa: E402
from chain.reads import total_supplies  # noqa: E402
from chain.rpc import connect  # noqa: E402
from chain.tx import (  # noqa: E402
    GWEI,
    GasParams,
    gas_params_from_head,
    id_to_bytes32,
    selector,
    sign_mint,
    sign_transaction,
)

SHARE = 10**18
SEND_BATCH_SIZE = 100
SETUP_BLOCK_GAS_LIMIT = 10**10


def send_in_batches(rpc_url: str, raw_transactions: list[bytes]) -> None:
    """eth_sendRawTransaction as JSON-RPC batches (web3.py refuses sends inside its batch_requests)."""
    for offset in range(0, len(raw_transactions), SEND_BATCH_SIZE):
        chunk = raw_transactions[offset : offset + SEND_BATCH_SIZE]
        requests_body = [
            {"jsonrpc": "2.0", "id": offset + i, "method": "eth_sendRawTransaction", "params": ["0x" + raw.hex()]}
            for i, raw in enumerate(chunk)
        ]
        answers = requests.post(rpc_url, json=requests_body, timeout=60).json()
        if not isinstance(answers, list):  # the whole batch was refused (e.g. body too large)
            raise RuntimeError(f"set-up batch refused: {answers}")
        refused = [answer["error"] for answer in answers if "error" in answer]
        if refused:
            raise RuntimeError(f"{len(refused)} set-up transactions refused, first: {refused[0]}")


def mine_until_pool_is_empty(w3: Web3) -> int:
    blocks = 0
    while int(w3.provider.make_request("txpool_status", [])["result"]["pending"], 16) > 0:
        w3.provider.make_request("evm_mine", [])
        blocks += 1
    return blocks


def deploy_tokens_with_supply(
    w3: Web3, rpc_url: str, admin: LocalAccount, count: int
) -> tuple[list[str], int, int]:
    """Deploy `count` tokens and mint (i + 1) shares of token i; (addresses, transactions, blocks)."""
    chain_id = w3.eth.chain_id
    first_nonce = w3.eth.get_transaction_count(admin.address)
    sample_deployment = deployment_data("ShareToken", [f"Stock {count}", f"STK{count}x", 18, admin.address])
    deploy_gas = w3.eth.estimate_gas({"from": admin.address, "data": sample_deployment})
    # One block takes the whole set-up (see below), so the base fee rises at most once or twice.
    fees = gas_params_from_head(w3, 0, max_priority_fee_per_gas=GWEI)
    deploy_fees = GasParams(deploy_gas * 11 // 10, fees.max_fee_per_gas, fees.max_priority_fee_per_gas)
    call_fees = GasParams(150_000, fees.max_fee_per_gas, fees.max_priority_fee_per_gas)

    nonce = first_nonce
    raw_transactions, tokens = [], []
    for index in range(count):
        tokens.append(get_create_address(admin.address, nonce))
        signed = sign_deployment(
            admin, "ShareToken", [f"Stock {index}", f"STK{index}x", 18, admin.address],
            chain_id=chain_id, nonce=nonce, gas=deploy_fees,
        )
        raw_transactions.append(signed.raw_tx)
        nonce += 1
    grant_minter = selector("grantRole(bytes32,address)") + encode(["bytes32", "address"], [MINTER_ROLE, admin.address])
    for token in tokens:
        raw_transactions.append(
            sign_transaction(admin, to=token, data=grant_minter, chain_id=chain_id, nonce=nonce, gas=call_fees).raw_tx
        )
        nonce += 1
    for index, token in enumerate(tokens):
        signed = sign_mint(
            admin, chain_id=chain_id, nonce=nonce, gas=call_fees, token=token, to=admin.address,
            amount=(index + 1) * SHARE, request_id=id_to_bytes32(f"bench-mint-{index}"),
        )
        raw_transactions.append(signed.raw_tx)
        nonce += 1

    w3.provider.make_request("evm_setAutomine", [False])
    # With the default 30M gas per block, 2,000 deployments need ~75 full blocks and the base fee climbs
    # 12.5% per full block until the pre-signed fees no longer cover it and anvil drops the transactions.
    w3.provider.make_request("evm_setBlockGasLimit", [hex(SETUP_BLOCK_GAS_LIMIT)])
    send_in_batches(rpc_url, raw_transactions)
    blocks = mine_until_pool_is_empty(w3)
    w3.provider.make_request("evm_setAutomine", [True])
    mined = w3.eth.get_transaction_count(admin.address) - first_nonce
    if mined != len(raw_transactions):
        raise RuntimeError(f"only {mined} of {len(raw_transactions)} set-up transactions were mined")
    return tokens, len(raw_transactions), blocks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5, help="aggregate3 rounds (it is fast; average them)")
    args = parser.parse_args(argv)

    admin = Account.from_key(DEV_ACCOUNT_KEYS[0])
    with (
        tempfile.TemporaryDirectory(prefix="bench-anvil-") as run_dir,
        start_anvil(free_port(), Path(run_dir)) as node,
    ):
        w3 = connect(node.url, timeout_seconds=60)
        aggregator = deploy_aggregator(w3, admin)
        started = time.perf_counter()
        tokens, transactions, blocks = deploy_tokens_with_supply(w3, node.url, admin, args.tokens)
        setup_seconds = time.perf_counter() - started
        pinned_block = w3.eth.block_number
        expected = {token: (index + 1) * SHARE for index, token in enumerate(tokens)}
        print(f"set-up: {args.tokens} tokens, {transactions} transactions in {blocks} blocks, {setup_seconds:.1f} s")
        print(f"pinned block: {pinned_block}")

        abi = load_artifact("ShareToken").abi
        contracts = [w3.eth.contract(address=token, abi=abi) for token in tokens]
        started = time.perf_counter()
        naive = {c.address: c.functions.totalSupply().call(block_identifier=pinned_block) for c in contracts}
        naive_seconds = time.perf_counter() - started

        started = time.perf_counter()
        for _ in range(args.rounds):
            batched = total_supplies(w3, aggregator, tokens, pinned_block, chunk_size=args.chunk_size)
        batched_seconds = (time.perf_counter() - started) / args.rounds

    if not naive == batched == expected:
        print("MISMATCH: the two methods disagree or differ from what was minted", file=sys.stderr)
        return 1

    naive_rate = len(tokens) / naive_seconds
    batched_rate = len(tokens) / batched_seconds
    print(f"(a) naive .call() per token:          {naive_rate:>8,.0f} reads/s ({naive_seconds:.2f} s)")
    print(
        f"(b) aggregate3 + eth_abi, chunks {args.chunk_size:>5}: {batched_rate:>8,.0f} reads/s "
        f"({batched_seconds * 1000:.0f} ms, mean of {args.rounds} rounds)"
    )
    print(f"ratio (b)/(a): {batched_rate / naive_rate:.0f}x; all {len(tokens)} supplies agree and match the mints")
    return 0


if __name__ == "__main__":
    sys.exit(main())
