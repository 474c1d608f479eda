"""Test support for any app whose tests need the contracts on a local anvil.

Dev actors with fixed roles, a one-call deployment of every contract, and a harness holding the few moves
chain tests make. Fixtures that start anvil and roll state back live in each test package's conftest.
"""
from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import keccak
from web3 import HTTPProvider, Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError

from chain.anvil import DEV_ACCOUNT_KEYS
from chain.artifacts import load_artifact
from chain.deploy import (
    TokenRoleHolders,
    deploy_aggregator,
    deploy_disperser,
    deploy_ledger_anchor,
    deploy_share_token,
)
from chain.tx import GasParams, SignedChainTx, TxStatus, broadcast, gas_params_from_head, receipt_status

NODE_CALL_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class Actors:
    admin: LocalAccount
    minter: LocalAccount
    burner: LocalAccount
    pauser: LocalAccount
    redemption_wallet: LocalAccount
    dividend_payer: LocalAccount
    holder_a: LocalAccount
    holder_b: LocalAccount
    outsider: LocalAccount


@dataclass(frozen=True)
class Deployment:
    token: ChecksumAddress  # AAPLx share token
    stablecoin: ChecksumAddress  # what dividends are paid in
    aggregator: ChecksumAddress
    disperser: ChecksumAddress  # owned by the dividend payer
    anchor: ChecksumAddress  # owned by admin


class ChainHarness:
    """The deployed contracts plus the few moves chain tests make."""

    def __init__(self, w3: Web3, actors: Actors, deployment: Deployment):
        self.w3 = w3
        self.actors = actors
        self.deployment = deployment
        self.chain_id = w3.eth.chain_id
        self.token = self.contract("ShareToken", deployment.token)
        self.stablecoin = self.contract("ShareToken", deployment.stablecoin)
        self.disperser = self.contract("Disperser", deployment.disperser)
        self.anchor = self.contract("LedgerAnchor", deployment.anchor)

    def contract(self, name: str, address: str) -> Contract:
        return self.w3.eth.contract(address=address, abi=load_artifact(name).abi)

    def nonce(self, account: LocalAccount) -> int:
        return self.w3.eth.get_transaction_count(account.address, "pending")

    def gas(self, gas_limit: int = 300_000) -> GasParams:
        return gas_params_from_head(self.w3, gas_limit)

    def execute(self, signed: SignedChainTx) -> TxStatus:
        """Broadcast and wait for the receipt (automine is on)."""
        broadcast(self.w3, signed.raw_tx)
        self.w3.eth.wait_for_transaction_receipt(signed.tx_hash, timeout=10)
        return receipt_status(self.w3, signed.tx_hash)

    def act_as(self, account: LocalAccount, function: ContractFunction) -> None:
        """Send a set-up call (pause, transfer...) from an account anvil keeps unlocked; it must succeed."""
        tx_hash = function.transact({"from": account.address})
        if self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10)["status"] != 1:
            raise AssertionError(f"{function.fn_name} from {account.address} reverted")

    def revert_error(self, function: ContractFunction, caller: LocalAccount) -> str:
        """Name of the custom error `function` reverts with when `caller` calls it (fails if it does not)."""
        try:
            function.call({"from": caller.address})
        except ContractCustomError as reverted:
            revert_data = reverted.data
        else:
            raise AssertionError(f"{function.fn_name} from {caller.address} did not revert")
        for error in (item for item in function.contract_abi if item["type"] == "error"):
            signature = f"{error['name']}({','.join(argument['type'] for argument in error['inputs'])})"
            if revert_data.startswith("0x" + keccak(text=signature)[:4].hex()):
                return error["name"]
        raise AssertionError(f"revert data {revert_data} matches no error of the contract")

    def rpc(self, method: str, *params: object) -> object:
        return node_call(self.w3, method, *params)


def node_call(w3: Web3, method: str, *params: object) -> object:
    """A raw JSON-RPC call to the test node (evm_snapshot, anvil_mine, ...) whose error answer fails loudly.

    Sent over a provider of its own with a generous timeout: the product's clients give up after 10 s, and
    mining hundreds of blocks on a machine whose cores are busy with other suites can take that long."""
    provider = HTTPProvider(w3.provider.endpoint_uri, request_kwargs={"timeout": NODE_CALL_TIMEOUT_SECONDS})
    answer = provider.make_request(method, list(params))
    if "error" in answer:
        raise AssertionError(f"{method}{list(params)}: {answer['error']}")
    return answer["result"]


def dev_actors() -> Actors:
    """anvil's dev accounts 0-8, each in one role."""
    return Actors(*(Account.from_key(key) for key in DEV_ACCOUNT_KEYS[:9]))


def deploy_test_chain(w3: Web3, actors: Actors) -> ChainHarness:
    """Deploy an 18-decimal share token (AAPLx), a 6-decimal dividend stablecoin, and the other contracts."""
    roles = TokenRoleHolders(
        minter=actors.minter.address,
        burner=actors.burner.address,
        pauser=actors.pauser.address,
        redemption_wallet=actors.redemption_wallet.address,
    )
    deployment = Deployment(
        token=deploy_share_token(w3, actors.admin, name="Apple xStock", symbol="AAPLx", decimals=18, roles=roles),
        stablecoin=deploy_share_token(w3, actors.admin, name="Test USD", symbol="TUSD", decimals=6, roles=roles),
        aggregator=deploy_aggregator(w3, actors.admin),
        disperser=deploy_disperser(w3, actors.admin, owner=actors.dividend_payer.address),
        anchor=deploy_ledger_anchor(w3, actors.admin, owner=actors.admin.address),
    )
    return ChainHarness(w3, actors, deployment)


