"""One anvil per test session; contracts deployed once; each test gets the chain as it was after deploy.

Clean state per test comes from evm_snapshot before and evm_revert after, which costs milliseconds.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from chain.anvil import AnvilNode, free_port, start_anvil
from chain.rpc import connect
from chain.testing import ChainHarness, deploy_test_chain, dev_actors


@pytest.fixture(scope="session")
def anvil_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNode]:
    with start_anvil(free_port(), tmp_path_factory.mktemp("anvil")) as node:
        yield node


@pytest.fixture(scope="session")
def session_chain(anvil_node: AnvilNode) -> ChainHarness:
    return deploy_test_chain(connect(anvil_node.url), dev_actors())


@pytest.fixture
def chain(session_chain: ChainHarness) -> Iterator[ChainHarness]:
    """The chain right after deployment; whatever the test does is rolled back afterwards."""
    snapshot = session_chain.rpc("evm_snapshot")
    yield session_chain
    session_chain.rpc("evm_setAutomine", True)
    assert session_chain.rpc("evm_revert", snapshot) is True
