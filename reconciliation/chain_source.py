"""Tokens outstanding: totalSupply() of every deployment, read at ONE pinned block per network.

The pinned block is the newest block with the network's `confirmations` (1 = the head itself), so what we
compare is as settled as what issuance books; with an `as_of`, the last block at or before that time.
Reads are batched: through the network's aggregate3 contract (Multicall3-compatible; see aggregators.py) in
chunks of 1,000 calls per eth_call, or, on a network without one, as JSON-RPC batches of eth_call. Never one
HTTP request per token. A node that does not answer, or a read that yields no value, makes the whole network
`unreachable`: a supply is never guessed or read as zero.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from eth_utils import to_checksum_address
from web3 import Web3
from web3.exceptions import Web3Exception

from chain.errors import ChainError, ChainReadFailed
from chain.reads import TOTAL_SUPPLY, total_supplies
from chain.rpc import unreachable_as_chain_unavailable
from issuance import chain_client
from issuance.models import TokenDeployment
from ledger.errors import DomainError

from .aggregators import aggregator_address
from .readings import OK, UNREACHABLE, SourceReading, data_sha256

RPC_BATCH_SIZE = 500


@dataclass(frozen=True)
class Deployment:
    deployment_id: str
    symbol: str
    network: str
    address: str
    decimals: int
    deploy_block: int


@dataclass
class ChainReading:
    network: str
    source: SourceReading
    supplies: dict[str, int] = field(default_factory=dict)  # deployment id -> totalSupply in base units


def deployments_by_network(symbols: set[str] | None) -> dict[str, list[Deployment]]:
    """Every deployment (active or retired: a retired token may still have holders) of the instruments."""
    rows = TokenDeployment.objects.all()
    if symbols is not None:
        rows = rows.filter(instrument__symbol__in=symbols)
    found: dict[str, list[Deployment]] = defaultdict(list)
    for deployment_id, symbol, network, address, decimals, deploy_block in rows.values_list(
            "id", "instrument__symbol", "network", "contract_address", "decimals", "deploy_tx_block"):
        found[network].append(Deployment(deployment_id, symbol, network, address, decimals, deploy_block))
    return dict(found)


def read_network(network: str, deployments: list[Deployment], as_of: datetime | None) -> ChainReading:
    name = f"chain:{network}"
    try:
        net = chain_client.network(network)
        w3 = chain_client.web3_for(net)
        with unreachable_as_chain_unavailable(w3):
            block = _pinned_block(w3, net.confirmations, as_of)
            existing = [d for d in deployments if d.deploy_block <= block["number"]]
            aggregator = aggregator_address(net)
            if aggregator:
                by_address = total_supplies(w3, aggregator, [d.address for d in existing], block["number"])
                method = "aggregate3"
            else:
                by_address = rpc_batch_total_supplies(w3, [d.address for d in existing], block["number"])
                method = "json-rpc batch"
    except (ChainError, DomainError, Web3Exception) as failure:
        return ChainReading(network, SourceReading("chain", name, UNREACHABLE, detail=str(failure)))
    # Addresses are stored checksummed; checksumming again costs a keccak per token.
    supplies = {d.deployment_id: by_address[d.address if d.address in by_address else to_checksum_address(d.address)]
                for d in existing}
    supplies.update({d.deployment_id: 0 for d in deployments if d.deploy_block > block["number"]})
    return ChainReading(network, SourceReading(
        "chain", name, OK, as_of=datetime.fromtimestamp(block["timestamp"], UTC),
        detail=f"{len(existing)} token supplies read at block {block['number']}",
        raw_sha256=data_sha256({deployment_id: str(units) for deployment_id, units in supplies.items()}),
        facts={"block_number": block["number"], "block_hash": "0x" + bytes(block["hash"]).hex(),
               "chain_id": net.chain_id, "read_method": method, "aggregator": aggregator or "",
               "tokens_read": len(existing)},
    ), supplies)


def _pinned_block(w3: Web3, confirmations: int, as_of: datetime | None):
    head = w3.eth.block_number
    pinned = max(head - confirmations + 1, 0)
    if as_of is not None:
        pinned = min(pinned, _last_block_at(w3, as_of, pinned))
    return w3.eth.get_block(pinned)


def _last_block_at(w3: Web3, moment: datetime, newest: int) -> int:
    """The last block whose timestamp is at or before `moment` (binary search over block headers)."""
    target = int(moment.timestamp())
    if w3.eth.get_block(0)["timestamp"] > target:
        raise ChainReadFailed(f"the chain starts after {moment.isoformat()}")
    low, high = 0, newest
    while low < high:
        middle = (low + high + 1) // 2
        if w3.eth.get_block(middle)["timestamp"] <= target:
            low = middle
        else:
            high = middle - 1
    return low


def rpc_batch_total_supplies(w3: Web3, addresses: list[str], block_number: int) -> dict[str, int]:
    """totalSupply() of each token as JSON-RPC batches of eth_call (networks without an aggregate3 contract)."""
    supplies: dict[str, int] = {}
    tokens = [to_checksum_address(address) for address in addresses]
    for offset in range(0, len(tokens), RPC_BATCH_SIZE):
        chunk = tokens[offset:offset + RPC_BATCH_SIZE]
        with w3.batch_requests() as batch:
            for token in chunk:
                batch.add(w3.eth.call({"to": token, "data": TOTAL_SUPPLY}, block_identifier=block_number))
            answers = batch.execute()
        for token, answer in zip(chunk, answers, strict=True):
            if not isinstance(answer, bytes) or len(answer) != 32:
                raise ChainReadFailed(f"totalSupply() of {token} at block {block_number} returned no uint256")
            supplies[token] = int.from_bytes(answer, "big")
    return supplies
