"""Chain and ledger moves corporate action tests make: issue tokens to many holders at once (automine off,
one block per few hundred mints), move the chain's clock past a record date, fund the dividend payer."""
from __future__ import annotations

import os
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import requests
from eth_abi import encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3 import Web3

from chain.artifacts import load_artifact
from chain.testing import node_call
from chain.tx import MINT, gas_params_from_head, id_to_bytes32, sign_transaction
from ledger import store
from ledger.store import NewEvent, Posting

OPS = "user:test-ops"
APPROVER = "user:test-approver"
NEW_YORK = ZoneInfo("America/New_York")


def funded_account(w3: Web3) -> LocalAccount:
    account = Account.create()
    node_call(w3, "anvil_setBalance", account.address, hex(10**21))
    return account


def random_addresses(count: int) -> list[str]:
    return [to_checksum_address(os.urandom(20)) for _ in range(count)]


def chain_date(w3: Web3) -> date:
    """Today on the chain's clock, in New York (tests move the clock forward past record dates)."""
    return datetime.fromtimestamp(w3.eth.get_block("latest")["timestamp"], NEW_YORK).date()


def mine_after(w3: Web3, moment: datetime) -> None:
    """Mine a block one second after `moment`: the day before it is now closed on this chain."""
    node_call(w3, "evm_setNextBlockTimestamp", int(moment.timestamp()) + 1)
    node_call(w3, "evm_mine")


def mint_directly(w3: Web3, minter: LocalAccount, token: str, amounts: list[tuple[str, int]]) -> None:
    """Mint straight on the token (test set-up, bypassing issuance): anvil signs for the impersonated minter,
    every mint goes in ONE JSON-RPC batch with automine off, then blocks are mined until all are in."""
    nonce = w3.eth.get_transaction_count(minter.address, "pending")
    calls = [{"jsonrpc": "2.0", "id": offset, "method": "eth_sendTransaction", "params": [{
        "from": minter.address, "to": token, "gas": hex(150_000), "nonce": hex(nonce + offset),
        "data": "0x" + (MINT + encode(["address", "uint256", "bytes32"], [holder, units,
                                                                        id_to_bytes32(f"setup:{token}:{nonce + offset}")])).hex()}]}
        for offset, (holder, units) in enumerate(amounts)]
    node_call(w3, "anvil_impersonateAccount", minter.address)
    node_call(w3, "evm_setAutomine", False)
    try:
        answers = requests.post(w3.provider.endpoint_uri, json=calls, timeout=120).json()
        failed = [answer for answer in answers if "error" in answer]
        assert not failed, failed[:3]
        while w3.eth.get_transaction_count(minter.address, "latest") < nonce + len(amounts):
            node_call(w3, "evm_mine")
    finally:
        node_call(w3, "evm_setAutomine", True)
        node_call(w3, "anvil_stopImpersonatingAccount", minter.address)


def send_call(w3: Web3, sender: LocalAccount, to: str, data: bytes) -> None:
    signed = sign_transaction(sender, to=to, data=data, chain_id=w3.eth.chain_id,
                              nonce=w3.eth.get_transaction_count(sender.address, "pending"),
                              gas=gas_params_from_head(w3, 300_000))
    w3.eth.send_raw_transaction(signed.raw_tx)
    assert w3.eth.wait_for_transaction_receipt(signed.tx_hash, timeout=10)["status"] == 1


def token_contract(w3: Web3, address: str):
    return w3.eth.contract(address=address, abi=load_artifact("ShareToken").abi)


def transfer(w3: Web3, sender: LocalAccount, token: str, to: str, units: int) -> None:
    data = token_contract(w3, token).encode_abi("transfer", args=[to, units])
    send_call(w3, sender, token, bytes.fromhex(data.removeprefix("0x")))


def balance_of(w3: Web3, token: str, holder: str) -> int:
    return token_contract(w3, token).functions.balanceOf(holder).call()


def book_tokens_outstanding(symbol: str, shares: Decimal | str, custody_account: str, network: str = "anvil") -> None:
    """The ledger side of tokens issued in set-up: shares in custody and tokens outstanding on `network`."""
    shares = Decimal(shares)
    store.append("journal", f"test-issue-{symbol}", [NewEvent("test_tokens_issued", {"shares": shares}, postings=[
        Posting(f"custody:{custody_account}:{symbol}", symbol, shares),
        Posting(f"chain:{network}:{symbol}:supply", symbol, -shares)])], metadata={"actor": OPS})
