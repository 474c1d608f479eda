"""Connecting to a node, and turning "the node did not answer" into one named error."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import requests
from web3 import HTTPProvider, Web3
from web3.exceptions import ProviderConnectionError, RequestTimedOut

from chain.errors import ChainUnavailable

# An HTTP error status (429 rate limited, 502/503 behind a proxy, 404 wrong path) is a node that did not answer
# the call, like a refused connection: the caller marks the network unreachable instead of crashing.
UNREACHABLE_ERRORS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.HTTPError,
    ProviderConnectionError,
    RequestTimedOut,
)


def connect(rpc_url: str, timeout_seconds: float = 10.0) -> Web3:
    """A Web3 client over HTTP with a bounded request timeout, so a hung node fails instead of blocking."""
    return Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": timeout_seconds}))


@contextmanager
def unreachable_as_chain_unavailable(w3: Web3) -> Iterator[None]:
    """Re-raise transport failures and HTTP error statuses as ChainUnavailable naming the endpoint; JSON-RPC
    error answers pass through."""
    try:
        yield
    except UNREACHABLE_ERRORS as failure:
        endpoint = getattr(w3.provider, "endpoint_uri", repr(w3.provider))
        raise ChainUnavailable(f"RPC endpoint {endpoint} unreachable: {failure}") from failure
