"""One sandbox broker per test session, reset before each test, driven through the real alpaca-py client."""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from alpaca.trading.client import TradingClient

from sandbox_broker import RunningSandbox, SandboxControl, start_sandbox
from sandbox_broker.state import SandboxSettings

DEFAULTS = SandboxSettings(state_path=Path("."))


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    running = start_sandbox(tmp_path_factory.mktemp("sandbox_broker") / "broker.json")
    yield running
    running.stop()


@pytest.fixture
def broker(sandbox: RunningSandbox) -> SandboxControl:
    control = SandboxControl(sandbox.base_url)
    control.reset()
    return control


def trading_client(base_url: str, key_id: str, secret_key: str) -> TradingClient:
    return TradingClient(key_id, secret_key, paper=True, url_override=base_url)


@pytest.fixture
def custody(sandbox: RunningSandbox, broker: SandboxControl) -> TradingClient:
    """The issuer's custody account, as custody code will see it."""
    return trading_client(sandbox.base_url, DEFAULTS.custody_key_id, DEFAULTS.custody_secret_key)


@pytest.fixture
def ap_client(sandbox: RunningSandbox, broker: SandboxControl) -> TradingClient:
    return trading_client(sandbox.base_url, DEFAULTS.ap_key_id, DEFAULTS.ap_secret_key)


@pytest.fixture
def impatient_custody(sandbox: RunningSandbox, broker: SandboxControl) -> TradingClient:
    """The custody client with a 0.5 s request timeout.

    alpaca-py 0.44 sends every request without a timeout (issue alpacahq/alpaca-py#415), so custody code
    has to give the client's session a default one, as here, or a stalled broker hangs it forever.
    """
    client = trading_client(sandbox.base_url, DEFAULTS.custody_key_id, DEFAULTS.custody_secret_key)
    client._session.request = functools.partial(client._session.request, timeout=0.5)
    return client


@pytest.fixture
def ap_session(sandbox: RunningSandbox, broker: SandboxControl) -> Callable[..., requests.Response]:
    """The authorized participant calling the tokenization endpoints with plain requests."""
    session = requests.Session()
    session.headers.update({"APCA-API-KEY-ID": DEFAULTS.ap_key_id, "APCA-API-SECRET-KEY": DEFAULTS.ap_secret_key})
    return lambda method, path, **kwargs: session.request(method, sandbox.base_url + path, timeout=5, **kwargs)


@pytest.fixture
def issuer_session(sandbox: RunningSandbox, broker: SandboxControl) -> Callable[..., requests.Response]:
    """The issuer calling the Broker API callbacks with HTTP Basic auth, as Alpaca's Broker API expects."""
    session = requests.Session()
    session.auth = (DEFAULTS.custody_key_id, DEFAULTS.custody_secret_key)
    return lambda method, path, **kwargs: session.request(method, sandbox.base_url + path, timeout=5, **kwargs)
