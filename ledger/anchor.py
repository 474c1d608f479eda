"""Anchor the head of the ledger's hash chain on chain, and check the ledger against the latest anchor.

Why: the hash chain proves the log is internally consistent, but whoever controls the database could rewrite
history and recompute every hash. Once a head hash sits in a public block (LedgerAnchor.anchor), a rewrite
of anything up to that position changes the hash stored there and no longer matches the chain.

An anchor is published first and recorded afterwards (`ledger_anchored` event, stream `ledger_anchor`), so the
record itself is covered by the next anchor. If the process dies between the two, the anchor is still on chain
and `verify_anchor` (which reads the contract, not our record) still checks it; the next run finds the
contract's latest anchor unrecorded and records it from the contract's `Anchored` log.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3 import Web3
from web3.exceptions import BadFunctionCallOutput, ContractLogicError, TimeExhausted

from chain.artifacts import load_artifact
from chain.errors import ChainReadFailed
from chain.rpc import connect, unreachable_as_chain_unavailable
from chain.tx import broadcast, gas_params_from_head, sign_anchor

from . import store
from .errors import LedgerError
from .models import Event, StreamState
from .verify import verify

ANCHOR_STREAM_TYPE = "ledger_anchor"
ANCHORED_EVENT_TYPE = "ledger_anchored"
ANCHOR_ACTOR = "system:ledger-anchor"
ANCHOR_GAS_LIMIT = 100_000  # anchor() writes three slots and emits one event: ~75k gas on a fresh contract
RECEIPT_TIMEOUT_SECONDS = 120


class AnchorError(LedgerError):
    code = "anchor_error"


class NothingToAnchor(AnchorError):
    """The contract already holds the head, or only our own anchor records were appended since."""

    code = "nothing_to_anchor"
    http_status = 409


class AnchorFailed(AnchorError):
    """The anchor transaction reverted (wrong owner, position not advancing) or was not mined in time."""

    code = "anchor_failed"
    http_status = 502


@dataclass(frozen=True)
class AnchorResult:
    position: int  # last ledger position covered by the anchor
    head_hash: str  # that event's hash (hex, as stored in the ledger)
    chain_id: int
    contract: str
    tx_hash: str
    block_number: int
    event_position: int  # where the `ledger_anchored` record landed


@dataclass(frozen=True)
class OnChainAnchor:
    position: int
    head_hash: str
    timestamp: int  # block timestamp of the anchor (seconds)


@dataclass(frozen=True)
class AnchorCheck:
    ok: bool
    contract: str
    chain_id: int
    anchor: OnChainAnchor | None
    ledger_hash: str | None = None  # hash the ledger stores at the anchored position
    problem: str | None = None

    def summary(self) -> str:
        where = f"{self.contract} on chain {self.chain_id}"
        if self.anchor is None:
            return f"anchor: none yet at {where}"
        at = f"position {self.anchor.position} (anchored {datetime.fromtimestamp(self.anchor.timestamp, UTC):%Y-%m-%d %H:%M:%S} UTC)"
        if self.ok:
            return f"anchor OK: ledger matches the anchor at {at}, head hash {self.anchor.head_hash}, {where}"
        return f"anchor MISMATCH at {at}: {self.problem} ({where})"


def anchor_stream_id(chain_id: int, contract: str) -> str:
    """One stream per anchor contract, named like a CAIP-10 account."""
    return f"eip155:{chain_id}:{to_checksum_address(contract)}"


def anchor_head(
    w3: Web3, signer: LocalAccount, anchor_contract: str, *, network: str | None = None, actor: str = ANCHOR_ACTOR
) -> AnchorResult:
    """Publish the current head (position, hash) through LedgerAnchor.anchor, wait for it to be mined, and
    record it as a `ledger_anchored` event. Raises NothingToAnchor when there is nothing new to cover. An anchor
    an earlier run published but died before recording is recorded instead (the next run anchors the rest)."""
    contract = _contract(w3, anchor_contract)
    head = Event.objects.order_by("-position").values_list("position", "hash").first()
    if head is None:
        raise NothingToAnchor("the ledger is empty")
    position, head_hash = head
    on_chain = read_anchor(w3, contract.address)
    latest_position = on_chain.position if on_chain else 0
    with unreachable_as_chain_unavailable(w3):
        chain_id = w3.eth.chain_id
    if on_chain is not None and _published_but_not_recorded(chain_id, contract.address, on_chain):
        return _record_published(w3, contract, on_chain, chain_id, network, actor)
    if latest_position >= position:
        raise NothingToAnchor(f"contract already anchors position {latest_position}; ledger head is {position}")
    if not Event.objects.filter(position__gt=latest_position).exclude(event_type=ANCHORED_EVENT_TYPE).exists():
        raise NothingToAnchor(f"only anchor records were appended since the anchor at position {latest_position}")

    with unreachable_as_chain_unavailable(w3):
        nonce = w3.eth.get_transaction_count(signer.address, "pending")
        signed = sign_anchor(
            signer, chain_id=chain_id, nonce=nonce, gas=gas_params_from_head(w3, ANCHOR_GAS_LIMIT),
            anchor=contract.address, head_hash=bytes.fromhex(head_hash), position=position,
        )
        broadcast(w3, signed.raw_tx)
        try:
            receipt = w3.eth.wait_for_transaction_receipt(signed.tx_hash, timeout=RECEIPT_TIMEOUT_SECONDS)
        except TimeExhausted as waited_out:  # it may still be mined; verify_anchor reads the contract either way
            raise AnchorFailed(f"anchor tx {signed.tx_hash} not mined within {RECEIPT_TIMEOUT_SECONDS}s") from waited_out
    if receipt["status"] != 1:
        raise AnchorFailed(f"anchor tx {signed.tx_hash} reverted (signer {signer.address} not the owner, or position not advancing)")

    return _record(position, head_hash, chain_id, network, contract.address, signed.tx_hash, receipt["blockNumber"],
                   "0x" + bytes(receipt["blockHash"]).hex(), signer.address, actor)


def _record(position: int, head_hash: str, chain_id: int, network: str | None, contract: str, tx_hash: str,
            block_number: int, block_hash: str, signer: str, actor: str) -> AnchorResult:
    payload = {
        "position": position,
        "head_hash": head_hash,
        "chain_id": chain_id,
        "network": network,
        "contract": contract,
        "tx_hash": tx_hash,
        "block_number": block_number,
        "block_hash": block_hash,
        "signer": signer,
    }
    recorded = store.append(
        ANCHOR_STREAM_TYPE, anchor_stream_id(chain_id, contract),
        [store.NewEvent(ANCHORED_EVENT_TYPE, payload)],
        metadata={"actor": actor},
        idempotency_key=f"ledger_anchor:{chain_id}:{contract}:{position}",
    )
    return AnchorResult(position, head_hash, chain_id, contract, tx_hash, block_number, recorded.last_position)


def _published_but_not_recorded(chain_id: int, contract: str, on_chain: OnChainAnchor) -> bool:
    """The contract's latest anchor covers an event this ledger holds, but no `ledger_anchored` records it: the
    process died after the anchor was mined and before the record was appended. (An anchor whose hash the
    ledger does not hold is not ours to record; verify_anchor reports it.)"""
    ledger_hash = Event.objects.filter(position=on_chain.position).values_list("hash", flat=True).first()
    if ledger_hash != on_chain.head_hash:
        return False
    return not Event.objects.filter(
        stream_type=ANCHOR_STREAM_TYPE, stream_id=anchor_stream_id(chain_id, contract),
        event_type=ANCHORED_EVENT_TYPE, payload__position=on_chain.position,
    ).exists()


def _record_published(w3: Web3, contract, on_chain: OnChainAnchor, chain_id: int, network: str | None,
                      actor: str) -> AnchorResult:
    """Record an anchor already on chain from its `Anchored` log and transaction, as if this run had sent it."""
    log = _anchored_log(w3, contract, on_chain)
    with unreachable_as_chain_unavailable(w3):
        signer = w3.eth.get_transaction(log["transactionHash"])["from"]
    return _record(on_chain.position, on_chain.head_hash, chain_id, network, contract.address,
                   "0x" + bytes(log["transactionHash"]).hex(), log["blockNumber"],
                   "0x" + bytes(log["blockHash"]).hex(), signer, actor)


def _anchored_log(w3: Web3, contract, on_chain: OnChainAnchor):
    """The `Anchored` log of the contract's latest anchor. Its position is not an indexed topic, but the
    contract stores the anchor's block timestamp and timestamps never decrease: a binary search finds the first
    block of that second, and the log is in it or in the few blocks sharing its timestamp."""
    with unreachable_as_chain_unavailable(w3):
        head = w3.eth.block_number
        low, high = 0, head
        while low < high:
            middle = (low + high) // 2
            if w3.eth.get_block(middle)["timestamp"] < on_chain.timestamp:
                low = middle + 1
            else:
                high = middle
        last = low
        while last < head and w3.eth.get_block(last + 1)["timestamp"] == on_chain.timestamp:
            last += 1
        for log in contract.events.Anchored().get_logs(from_block=low, to_block=last):
            if log["args"]["position"] == on_chain.position:
                return log
    raise ChainReadFailed(f"no Anchored log of position {on_chain.position} at {contract.address}")


def read_anchor(w3: Web3, anchor_contract: str) -> OnChainAnchor | None:
    """The contract's latest anchor, or None before the first one."""
    contract = _contract(w3, anchor_contract)
    with unreachable_as_chain_unavailable(w3):
        try:
            position = contract.functions.latestPosition().call()
            if position == 0:
                return None
            head_hash = bytes(contract.functions.latestHeadHash().call()).hex()
            timestamp = contract.functions.latestTimestamp().call()
        except (BadFunctionCallOutput, ContractLogicError) as unreadable:
            raise ChainReadFailed(f"cannot read LedgerAnchor at {contract.address}: {unreadable}") from unreadable
    return OnChainAnchor(position, head_hash, timestamp)


def verify_anchor(w3: Web3, anchor_contract: str) -> AnchorCheck:
    """Does the ledger still hold, at the anchored position, the event that was anchored?

    Checks that event's stored hash equals the anchored one and that its content still hashes to it (and links
    to the event before). Together with `ledger.verify.verify` over positions 1..P, which proves everything
    before links up to it, this shows nothing up to P changed since the anchor.
    """
    with unreachable_as_chain_unavailable(w3):
        chain_id = w3.eth.chain_id
    contract = to_checksum_address(anchor_contract)
    anchor = read_anchor(w3, contract)
    if anchor is None:
        return AnchorCheck(True, contract, chain_id, None)
    ledger_hash = Event.objects.filter(position=anchor.position).values_list("hash", flat=True).first()
    if ledger_hash is None:
        return AnchorCheck(False, contract, chain_id, anchor, None,
                           f"the ledger has no event at position {anchor.position} (history lost or truncated)")
    if ledger_hash != anchor.head_hash:
        return AnchorCheck(False, contract, chain_id, anchor, ledger_hash,
                           f"ledger hash {ledger_hash} differs from the anchored {anchor.head_hash} (history rewritten)")
    recomputed = verify(from_position=anchor.position, to_position=anchor.position)
    if not recomputed.ok:
        return AnchorCheck(False, contract, chain_id, anchor, ledger_hash, recomputed.problem)
    return AnchorCheck(True, contract, chain_id, anchor, ledger_hash)


def latest_anchor_record() -> store.RecordedEvent | None:
    """The most recent `ledger_anchored` event of any anchor contract (found through the stream heads)."""
    last_position = (
        StreamState.objects.filter(stream_type=ANCHOR_STREAM_TYPE).order_by("-last_position")
        .values_list("last_position", flat=True).first()
    )
    if last_position is None:
        return None
    events = store.read_all(after_position=last_position - 1, limit=1)
    return events[0] if events else None


@dataclass(frozen=True)
class AnchorTarget:
    """Where anchors go, from settings: LEDGER_ANCHOR_RPC_URL, LEDGER_ANCHOR_CONTRACT, LEDGER_ANCHOR_NETWORK,
    LEDGER_ANCHOR_SIGNER_KEY (only needed to publish; verifying needs no key)."""

    w3: Web3
    contract: str
    network: str | None
    signer: LocalAccount | None


def configured_target() -> AnchorTarget | None:
    """The configured anchor contract and RPC, or None when anchoring is not set up."""
    rpc_url = getattr(settings, "LEDGER_ANCHOR_RPC_URL", None)
    contract = getattr(settings, "LEDGER_ANCHOR_CONTRACT", None)
    if not rpc_url or not contract:
        return None
    key = getattr(settings, "LEDGER_ANCHOR_SIGNER_KEY", None)
    return AnchorTarget(
        w3=connect(rpc_url),
        contract=to_checksum_address(contract),
        network=getattr(settings, "LEDGER_ANCHOR_NETWORK", None),
        signer=Account.from_key(key) if key else None,
    )


def check_configured_anchor() -> AnchorCheck | None:
    """verify_anchor against the configured contract; None when no anchor contract or RPC is configured.
    Raises ChainUnavailable when the RPC does not answer."""
    target = configured_target()
    if target is None:
        return None
    return verify_anchor(target.w3, target.contract)


def _contract(w3: Web3, address: str):
    return w3.eth.contract(address=to_checksum_address(address), abi=load_artifact("LedgerAnchor").abi)

