"""The broker answering 500, 429 or too slowly, and the chain's RPC node down, in the middle of a mint: the
mint waits where it is, with nothing half-recorded, and completes once the dependency is back, with exactly one
broker order and one mint."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from chain.anvil import free_port
from chain.tx import id_to_bytes32
from issuance import services, tasks
from issuance.models import MintRequest
from ledger import store
from ledger.balances import balance
from ledger.errors import DomainError
from sandbox_broker import RunningSandbox, SandboxControl, start_sandbox
from tests.issuance.support import OPS, network_settings, sandbox_broker_for, token_contract

pytestmark = pytest.mark.django_db
TOKEN = 10**18


def mint_events(request_id: str) -> list[str]:
    return [e.event_type for e in store.read_stream("mint_request", request_id)]


def test_a_mint_waits_while_the_chain_node_is_down_and_completes_once_it_is_back(
        partner, token, keys, w3, book_share_journal, settings):
    symbol = token.instrument.symbol
    request = services.request_mint(partner, symbol, "5", "anvil", keys.partner_wallet.address, "partner:x")
    book_share_journal(symbol, "5")
    services.secure_shares(request.id, OPS)
    reachable = settings.CHAIN_NETWORKS
    unreachable = network_settings(f"http://127.0.0.1:{free_port()}")  # nothing listens there

    settings.CHAIN_NETWORKS = unreachable
    assert tasks.process_mint(request.id).startswith("held:")
    assert services.get_mint(request.id).status == MintRequest.Status.SECURED  # nothing signed without a node
    assert "mint_signed" not in mint_events(request.id)

    settings.CHAIN_NETWORKS = reachable
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        assert services.process_mint(request.id, wait_seconds=0).status == MintRequest.Status.BROADCAST
        settings.CHAIN_NETWORKS = unreachable  # the node goes away while the mint waits for its receipt
        assert tasks.process_mint(request.id).startswith("held:")
        assert services.get_mint(request.id).status == MintRequest.Status.BROADCAST
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
    w3.provider.make_request("evm_mine", [])

    settings.CHAIN_NETWORKS = reachable
    assert tasks.process_mint(request.id) == MintRequest.Status.COMPLETED
    events = mint_events(request.id)
    assert events.count("mint_signed") == 1 and events.count("mint_confirmed") == 1
    contract = token_contract(w3, token.contract_address)
    assert contract.functions.mintedFor(id_to_bytes32(request.id)).call() == 5 * TOKEN
    assert contract.functions.totalSupply().call() == 5 * TOKEN


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator[RunningSandbox]:
    running = start_sandbox(tmp_path_factory.mktemp("faults-broker") / "broker.json")
    yield running
    running.stop()


@pytest.fixture
def broker(sandbox, token, monkeypatch, settings) -> SandboxControl:
    control = sandbox_broker_for(sandbox.base_url, token.instrument.symbol, monkeypatch)
    settings.CUSTODY_BROKER_MAX_ATTEMPTS = 2
    settings.CUSTODY_BROKER_BACKOFF_SECONDS = 0.05
    settings.CUSTODY_BROKER_MAX_BACKOFF_SECONDS = 0.1
    settings.CUSTODY_BROKER_TIMEOUT_SECONDS = 0.5
    return control


@pytest.mark.parametrize("fault", [
    {"kind": "http_error", "status": 500},
    {"kind": "rate_limit", "retry_after": 0},
    {"kind": "timeout", "delay_seconds": 1, "process_request": True},  # the order is placed, the answer lost
], ids=["500", "429", "timeout"])
def test_shares_bought_for_a_mint_wait_out_a_failing_broker_and_are_bought_once(fault, broker, partner, token,
                                                                                keys, w3):
    symbol = token.instrument.symbol
    request = services.request_mint(partner, symbol, "3", "anvil", keys.partner_wallet.address, "partner:x")
    broker.inject_fault(method="*", path_prefix="/v2/orders", count=20, **fault)

    with pytest.raises(DomainError) as waiting:
        services.secure_shares(request.id, OPS, via="broker")
    assert waiting.value.code in ("broker_unavailable", "shares_pending"), waiting.value.code
    assert services.get_mint(request.id).status == MintRequest.Status.APPROVED
    assert balance(f"partner:{partner}:pending-mint:{symbol}", symbol) == 0

    broker.clear_faults()
    assert services.secure_shares(request.id, OPS, via="broker").status == MintRequest.Status.SECURED
    assert services.process_mint(request.id).status == MintRequest.Status.COMPLETED
    orders = [order["wire"] for account in broker.state()["accounts"].values() for order in account["orders"]
              if order["wire"]["symbol"] == symbol]
    assert len(orders) == 1 and Decimal(orders[0]["filled_qty"]) == 3, orders
    assert mint_events(request.id).count("mint_signed") == 1
    assert token_contract(w3, token.contract_address).functions.totalSupply().call() == 3 * TOKEN
