"""Sign transactions offline, broadcast them idempotently, and follow them to a final status.

Why offline signing with an explicit nonce: the caller persists the raw bytes and the tx hash BEFORE
broadcasting. After a crash it rebroadcasts the very same bytes (never signs a second, different mint) and
asks `receipt_status` by hash. The contracts' per-request guards stop a double mint even if that discipline
fails; this module makes the discipline easy.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.exceptions import BlockNotFound, TransactionNotFound, Web3RPCError

from chain.errors import BroadcastRejected, NonceAlreadyUsed
from chain.rpc import unreachable_as_chain_unavailable

GWEI = 10**9


def selector(signature: str) -> bytes:
    """The 4-byte function selector of e.g. "mint(address,uint256,bytes32)"."""
    return keccak(text=signature)[:4]


MINT = selector("mint(address,uint256,bytes32)")
BURN_FROM_REDEMPTION = selector("burnFromRedemption(uint256,bytes32)")
APPROVE = selector("approve(address,uint256)")
DISPERSE = selector("disperse(address,bytes32,address[],uint256[])")
ANCHOR = selector("anchor(bytes32,uint256)")


@dataclass(frozen=True)
class GasParams:
    """EIP-1559 gas settings, in wei per gas except `gas_limit` (gas units)."""

    gas_limit: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int


@dataclass(frozen=True)
class SignedChainTx:
    """A signed transaction ready to persist and (re)broadcast; `tx_hash` is known before broadcasting."""

    raw_tx: bytes
    tx_hash: str  # 0x-prefixed lowercase hex
    sender: ChecksumAddress
    nonce: int
    chain_id: int


class TxState(StrEnum):
    PENDING = "pending"  # in the node's pool, or mined with fewer confirmations than asked for
    CONFIRMED = "confirmed"  # mined, succeeded, deep enough
    REVERTED = "reverted"  # mined, failed, deep enough
    NOT_FOUND = "not_found"  # unknown to the node: never broadcast, dropped, or reorged out


@dataclass(frozen=True)
class TxStatus:
    """Where a transaction stands. Compare `block_hash` with the one stored earlier to detect a reorg."""

    state: TxState
    block_number: int | None = None
    block_hash: str | None = None
    confirmations: int = 0


def id_to_bytes32(idempotency_key: str) -> bytes:
    """The on-chain request or batch id for an off-chain key: keccak256 of its UTF-8 text."""
    return keccak(text=idempotency_key)


def gas_params_from_head(w3: Web3, gas_limit: int, max_priority_fee_per_gas: int = 1 * GWEI) -> GasParams:
    """Fees that survive the base fee doubling: max fee = 2 x the head's base fee + tip."""
    with unreachable_as_chain_unavailable(w3):
        base_fee = w3.eth.get_block("latest")["baseFeePerGas"]
    return GasParams(gas_limit, 2 * base_fee + max_priority_fee_per_gas, max_priority_fee_per_gas)


def sign_transaction(
    signer: LocalAccount, *, to: str | None, data: bytes, chain_id: int, nonce: int, gas: GasParams
) -> SignedChainTx:
    """Sign an EIP-1559 transaction with no network access; `to=None` deploys a contract."""
    fields = {
        "type": 2,
        "chainId": chain_id,
        "nonce": nonce,
        "value": 0,
        "data": data,
        "gas": gas.gas_limit,
        "maxFeePerGas": gas.max_fee_per_gas,
        "maxPriorityFeePerGas": gas.max_priority_fee_per_gas,
    }
    if to is not None:
        fields["to"] = to_checksum_address(to)
    signed = signer.sign_transaction(fields)
    return SignedChainTx(
        raw_tx=bytes(signed.raw_transaction),
        tx_hash="0x" + bytes(signed.hash).hex(),
        sender=signer.address,
        nonce=nonce,
        chain_id=chain_id,
    )


def sign_mint(
    signer: LocalAccount,
    *,
    chain_id: int,
    nonce: int,
    gas: GasParams,
    token: str,
    to: str,
    amount: int,
    request_id: bytes,
) -> SignedChainTx:
    """ShareToken.mint(to, amount, requestId), signed by a minter. `amount` is in token base units."""
    data = MINT + encode(["address", "uint256", "bytes32"], [to_checksum_address(to), amount, _bytes32(request_id)])
    return sign_transaction(signer, to=token, data=data, chain_id=chain_id, nonce=nonce, gas=gas)


def sign_burn_from_redemption(
    signer: LocalAccount, *, chain_id: int, nonce: int, gas: GasParams, token: str, amount: int, request_id: bytes
) -> SignedChainTx:
    """ShareToken.burnFromRedemption(amount, requestId), signed by a burner."""
    data = BURN_FROM_REDEMPTION + encode(["uint256", "bytes32"], [amount, _bytes32(request_id)])
    return sign_transaction(signer, to=token, data=data, chain_id=chain_id, nonce=nonce, gas=gas)


def sign_approve(
    signer: LocalAccount, *, chain_id: int, nonce: int, gas: GasParams, token: str, spender: str, amount: int
) -> SignedChainTx:
    """ERC-20 approve(spender, amount): the payer lets the Disperser move a dividend batch's total."""
    data = APPROVE + encode(["address", "uint256"], [to_checksum_address(spender), amount])
    return sign_transaction(signer, to=token, data=data, chain_id=chain_id, nonce=nonce, gas=gas)


def sign_disperse(
    signer: LocalAccount,
    *,
    chain_id: int,
    nonce: int,
    gas: GasParams,
    disperser: str,
    token: str,
    batch_id: bytes,
    recipients: Sequence[str],
    amounts: Sequence[int],
) -> SignedChainTx:
    """Disperser.disperse(token, batchId, to[], amounts[]), signed by the Disperser's owner (the payer)."""
    if len(recipients) != len(amounts):
        raise ValueError(f"{len(recipients)} recipients but {len(amounts)} amounts")
    data = DISPERSE + encode(
        ["address", "bytes32", "address[]", "uint256[]"],
        [to_checksum_address(token), _bytes32(batch_id), [to_checksum_address(r) for r in recipients], list(amounts)],
    )
    return sign_transaction(signer, to=disperser, data=data, chain_id=chain_id, nonce=nonce, gas=gas)


def sign_anchor(
    signer: LocalAccount,
    *,
    chain_id: int,
    nonce: int,
    gas: GasParams,
    anchor: str,
    head_hash: bytes,
    position: int,
) -> SignedChainTx:
    """LedgerAnchor.anchor(headHash, position), signed by the anchor's owner."""
    data = ANCHOR + encode(["bytes32", "uint256"], [_bytes32(head_hash), position])
    return sign_transaction(signer, to=anchor, data=data, chain_id=chain_id, nonce=nonce, gas=gas)


def broadcast(w3: Web3, raw_tx: bytes) -> str:
    """Send signed bytes; return the tx hash. Sending the same bytes again is a no-op success.

    Nodes answer a repeat with "already known" (still pooled) or "nonce too low" (already mined). Either
    way, if the node knows this very hash, the broadcast has happened. If the nonce is used by a different
    transaction, this one can never be mined: NonceAlreadyUsed.
    """
    tx_hash = "0x" + keccak(raw_tx).hex()
    with unreachable_as_chain_unavailable(w3):
        try:
            w3.eth.send_raw_transaction(raw_tx)
        except Web3RPCError as rejection:
            if _node_knows_transaction(w3, tx_hash):
                return tx_hash
            if "nonce too low" in str(rejection).lower():
                raise NonceAlreadyUsed(f"{tx_hash}: nonce taken by another transaction ({rejection})") from rejection
            raise BroadcastRejected(f"{tx_hash}: {rejection}") from rejection
    return tx_hash


def receipt_status(w3: Web3, tx_hash: str, confirmations: int = 1) -> TxStatus:
    """Where `tx_hash` stands now. `confirmations` = 1 means "in the head block is enough".

    A receipt whose block is no longer the canonical block at that height counts as NOT_FOUND (reorged out).
    """
    with unreachable_as_chain_unavailable(w3):
        try:
            receipt = w3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return TxStatus(TxState.PENDING if _node_knows_transaction(w3, tx_hash) else TxState.NOT_FOUND)
        block_number = receipt["blockNumber"]
        block_hash = "0x" + bytes(receipt["blockHash"]).hex()
        try:
            canonical_hash = "0x" + bytes(w3.eth.get_block(block_number)["hash"]).hex()
        except BlockNotFound:
            return TxStatus(TxState.NOT_FOUND)
        if canonical_hash != block_hash:
            return TxStatus(TxState.NOT_FOUND)
        depth = w3.eth.block_number - block_number + 1
    if depth < confirmations:
        state = TxState.PENDING
    else:
        state = TxState.CONFIRMED if receipt["status"] == 1 else TxState.REVERTED
    return TxStatus(state, block_number, block_hash, depth)


def _node_knows_transaction(w3: Web3, tx_hash: str) -> bool:
    try:
        w3.eth.get_transaction(tx_hash)
    except TransactionNotFound:
        return False
    return True


def _bytes32(value: bytes) -> bytes:
    """eth_abi right-pads short bytes32 values silently; an id must be exactly 32 bytes."""
    if len(value) != 32:
        raise ValueError(f"expected 32 bytes, got {len(value)}")
    return value
