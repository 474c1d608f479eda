"""The aggregate3 contract each network's supply reads go through.

issuance records no such contract, so reconciliation keeps its own record: `manage.py deploy_aggregator
--network X` deploys our Aggregator (contracts/, aggregate3-compatible) with the issuer's deployer signer and
appends `aggregator_deployed` to `reconciliation_aggregator/<network>`; the AggregatorContract read model
holds the address. RECONCILIATION_AGGREGATORS (JSON {"network": "0x..."}) overrides it, e.g. with the
canonical Multicall3 at 0xcA11bde05977b3631167028862bE2a173976CA11 on public chains. A network with neither
is read with JSON-RPC batches instead (slower, still batched).
"""
from __future__ import annotations

from django.conf import settings
from eth_utils import to_checksum_address

from chain.deploy import deploy_aggregator as deploy_aggregator_contract
from chain.rpc import unreachable_as_chain_unavailable
from issuance import chain_client, signers
from issuance.chain_client import Network
from ledger import store
from ledger.store import NewEvent

from . import streams
from .models import AggregatorContract


def aggregator_address(net: Network) -> str | None:
    configured = settings.RECONCILIATION_AGGREGATORS.get(net.name)
    if configured:
        return to_checksum_address(configured)
    recorded = AggregatorContract.objects.filter(network=net.name, chain_id=net.chain_id).first()
    return recorded.address if recorded else None


def deploy_aggregator(network: str, *, actor: str, replace: bool = False) -> AggregatorContract:
    """Deploy an Aggregator on `network` and record it. Idempotent: a recorded aggregator whose code is still
    on chain is kept (a chain reset since, or `replace`, deploys and records a new one)."""
    net = chain_client.network(network)
    w3 = chain_client.web3_for(net)
    recorded = AggregatorContract.objects.filter(network=net.name, chain_id=net.chain_id).first()
    if recorded is not None and not replace:
        with unreachable_as_chain_unavailable(w3):
            if w3.eth.get_code(recorded.address):
                return recorded
    address = deploy_aggregator_contract(w3, signers.signer("deployer", net.name))
    store.append(streams.AGGREGATOR, net.name, [NewEvent("aggregator_deployed", {
        "network": net.name, "chain_id": net.chain_id, "address": address,
        "replaces": recorded.address if recorded else None,
    })], metadata={"actor": actor})
    return AggregatorContract.objects.get(network=net.name)
