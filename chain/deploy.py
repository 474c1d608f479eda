"""Deploy shareledger's contracts and hand out ShareToken roles.

Set-up operations, run by an operator or a test: each transaction is signed locally, sent, and waited for.
(Business transactions — mints, burns, airdrops, anchors — go through chain.tx so the caller can persist
them before broadcasting.)
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.exceptions import ContractLogicError
from web3.types import TxReceipt

from chain.artifacts import load_artifact
from chain.errors import DeploymentFailed
from chain.rpc import unreachable_as_chain_unavailable
from chain.tx import GasParams, SignedChainTx, broadcast, gas_params_from_head, selector, sign_transaction

ADMIN_ROLE = keccak(text="ADMIN_ROLE")
MINTER_ROLE = keccak(text="MINTER_ROLE")
BURNER_ROLE = keccak(text="BURNER_ROLE")
PAUSER_ROLE = keccak(text="PAUSER_ROLE")

RECEIPT_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class TokenRoleHolders:
    """Who may mint, burn from the redemption wallet, and pause a ShareToken; and that wallet."""

    minter: str
    burner: str
    pauser: str
    redemption_wallet: str


def deployment_data(contract_name: str, constructor_args: Sequence[Any]) -> bytes:
    """Creation bytecode followed by the ABI-encoded constructor arguments."""
    artifact = load_artifact(contract_name)
    constructor = next((item for item in artifact.abi if item["type"] == "constructor"), {"inputs": []})
    argument_types = [argument["type"] for argument in constructor["inputs"]]
    return artifact.bytecode + encode(argument_types, list(constructor_args))


def sign_deployment(
    deployer: LocalAccount,
    contract_name: str,
    constructor_args: Sequence[Any],
    *,
    chain_id: int,
    nonce: int,
    gas: GasParams,
) -> SignedChainTx:
    """A signed contract creation, for callers that batch many deployments (see bench/chain_supply.py)."""
    data = deployment_data(contract_name, constructor_args)
    return sign_transaction(deployer, to=None, data=data, chain_id=chain_id, nonce=nonce, gas=gas)


def deploy_contract(
    w3: Web3, deployer: LocalAccount, contract_name: str, constructor_args: Sequence[Any] = ()
) -> ChecksumAddress:
    """Deploy and wait; the address of the new contract."""
    receipt = _send_and_wait(w3, deployer, to=None, data=deployment_data(contract_name, constructor_args))
    address = to_checksum_address(receipt["contractAddress"])
    with unreachable_as_chain_unavailable(w3):
        if not w3.eth.get_code(address):
            raise DeploymentFailed(f"{contract_name}: no code at {address}")
    return address


def deploy_share_token(
    w3: Web3, admin: LocalAccount, *, name: str, symbol: str, decimals: int, roles: TokenRoleHolders
) -> ChecksumAddress:
    """Deploy a ShareToken administered by `admin`, grant the three operating roles, set the redemption wallet."""
    token = deploy_contract(w3, admin, "ShareToken", [name, symbol, decimals, admin.address])
    grant_role(w3, admin, token, MINTER_ROLE, roles.minter)
    grant_role(w3, admin, token, BURNER_ROLE, roles.burner)
    grant_role(w3, admin, token, PAUSER_ROLE, roles.pauser)
    set_redemption_wallet(w3, admin, token, roles.redemption_wallet)
    return token


def deploy_aggregator(w3: Web3, deployer: LocalAccount) -> ChecksumAddress:
    return deploy_contract(w3, deployer, "Aggregator")


def deploy_disperser(w3: Web3, deployer: LocalAccount, owner: str) -> ChecksumAddress:
    """A Disperser that only `owner` (the dividend payer) may call."""
    return deploy_contract(w3, deployer, "Disperser", [to_checksum_address(owner)])


def deploy_ledger_anchor(w3: Web3, deployer: LocalAccount, owner: str) -> ChecksumAddress:
    """A LedgerAnchor that only `owner` may write."""
    return deploy_contract(w3, deployer, "LedgerAnchor", [to_checksum_address(owner)])


def grant_role(w3: Web3, admin: LocalAccount, token: str, role: bytes, account: str) -> None:
    """ShareToken.grantRole(role, account); `role` is one of the *_ROLE constants of this module."""
    data = selector("grantRole(bytes32,address)") + encode(["bytes32", "address"], [role, to_checksum_address(account)])
    _send_and_wait(w3, admin, to=token, data=data)


def set_redemption_wallet(w3: Web3, admin: LocalAccount, token: str, wallet: str) -> None:
    data = selector("setRedemptionWallet(address)") + encode(["address"], [to_checksum_address(wallet)])
    _send_and_wait(w3, admin, to=token, data=data)


def _send_and_wait(w3: Web3, signer: LocalAccount, *, to: str | None, data: bytes) -> TxReceipt:
    with unreachable_as_chain_unavailable(w3):
        nonce = w3.eth.get_transaction_count(signer.address, "pending")
        call = {"from": signer.address, "data": data} | ({"to": to_checksum_address(to)} if to else {})
        try:
            gas_limit = w3.eth.estimate_gas(call)
        except ContractLogicError as refusal:
            raise DeploymentFailed(f"transaction to {to or 'a new contract'} would revert: {refusal}") from refusal
        signed = sign_transaction(
            signer, to=to, data=data, chain_id=w3.eth.chain_id, nonce=nonce, gas=gas_params_from_head(w3, gas_limit)
        )
        broadcast(w3, signed.raw_tx)
        receipt = w3.eth.wait_for_transaction_receipt(signed.tx_hash, timeout=RECEIPT_TIMEOUT_SECONDS)
    if receipt["status"] != 1:
        raise DeploymentFailed(f"transaction {signed.tx_hash} to {to or 'a new contract'} reverted")
    return receipt
