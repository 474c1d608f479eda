"""Connecting to a node, and turning "the node did not answer" into one named error."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

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


def public_endpoint(rpc_url: str) -> str:
    """scheme://host[:port] only: hosted providers put the API key in the path or query (Infura's /v3/<key>),
    and the message of a chain error ends up in logs, ledger events and break details."""
    parts = urlsplit(rpc_url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}:{parts.port}" if parts.port else f"{parts.scheme}://{host}"


def _reason(failure: Exception) -> str:
    """The failure's class, and the HTTP status when the node answered one (a 429 calls for a different fix
    than a refused connection)."""
    status = getattr(getattr(failure, "response", None), "status_code", None)
    return f"{type(failure).__name__} {status}" if status else type(failure).__name__


@contextmanager
def unreachable_as_chain_unavailable(w3: Web3) -> Iterator[None]:
    """Re-raise transport failures and HTTP error statuses as ChainUnavailable naming the endpoint's host and the
    failure's class (and status); the failure's own text is left to the chained cause because requests embeds
    the full URL in it. JSON-RPC error answers pass through."""
    try:
        yield
    except UNREACHABLE_ERRORS as failure:
        endpoint = public_endpoint(str(getattr(w3.provider, "endpoint_uri", "") or ""))
        raise ChainUnavailable(f"RPC endpoint {endpoint} unreachable: {_reason(failure)}") from failure
