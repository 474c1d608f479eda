"""Settings -> networks, web3 clients and signers. The only issuance module that reads chain settings.

`CHAIN_NETWORKS` maps a network name (used in ledger accounts: chain:<network>:<SYMBOL>:supply) to its
chain id, RPC URL, confirmations (blocks deep a mint or burn must be before it counts), reorg_window (blocks
after confirmation during which mints and burns are re-checked; see reorg_window_start) and itn_network (the
broker's name for it).
"""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from web3 import Web3

from chain.errors import ChainUnavailable
from chain.rpc import connect, public_endpoint, unreachable_as_chain_unavailable

from .errors import UnknownNetwork

_clients: dict[str, Web3] = {}


@dataclass(frozen=True)
class Network:
    name: str
    chain_id: int
    rpc_url: str
    confirmations: int
    reorg_window: int
    itn_network: str


def network(name: str) -> Network:
    config = settings.CHAIN_NETWORKS.get(name)
    if config is None:
        raise UnknownNetwork(f"unknown network {name!r}; configured: {', '.join(sorted(settings.CHAIN_NETWORKS))}")
    confirmations = int(config.get("confirmations", 1))
    return Network(name=name, chain_id=int(config["chain_id"]), rpc_url=config["rpc_url"],
                   confirmations=max(confirmations, 1), reorg_window=int(config.get("reorg_window", 64)),
                   itn_network=config.get("itn_network", name))


def networks() -> list[Network]:
    return [network(name) for name in sorted(settings.CHAIN_NETWORKS)]


def network_for_itn(itn_name: str) -> Network:
    """Our network whose broker-side (ITN) name is `itn_name`; our own names are accepted too."""
    for candidate in networks():
        if itn_name in (candidate.itn_network, candidate.name):
            return candidate
    raise UnknownNetwork(f"no configured network is called {itn_name!r} by the broker")


def web3_for(net: Network) -> Web3:
    """One client per RPC URL per process; its chain id is checked once, so a mis-pointed URL cannot sign
    transactions for the wrong chain."""
    client = _clients.get(net.rpc_url)
    if client is None:
        client = connect(net.rpc_url)
        with unreachable_as_chain_unavailable(client):
            actual = client.eth.chain_id
        if actual != net.chain_id:
            raise ChainUnavailable(f"{public_endpoint(net.rpc_url)} serves chain id {actual}, network {net.name} expects {net.chain_id}")
        _clients[net.rpc_url] = client
    return client


def head_block(w3: Web3) -> int:
    """The node's head block number; a node that stops answering raises ChainUnavailable, not a requests error."""
    with unreachable_as_chain_unavailable(w3):
        return w3.eth.block_number


def reorg_window_start(net: Network, head: int) -> int:
    """The oldest block still within the network's reorg window at `head`. What happened in a block older than
    this is taken as final: the watcher stops re-checking mints and burns there, a burn's shares may leave, a
    deposit missing from the chain is gone for good."""
    return head - net.reorg_window
