"""An RPC endpoint that answers an HTTP error status (rate limited, a proxy with no node behind it) is a node
that is down: the chain watcher records the network as unavailable and resumes later, it never crashes."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests

from issuance import services, tasks
from ledger import store

from tests.conftest import http_status_server

from .support import network_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def unavailable_rpc_url() -> Iterator[str]:
    with http_status_server(503) as url:
        yield url


def test_the_watcher_marks_a_network_answering_503_unavailable_instead_of_crashing(token, settings,
                                                                                   unavailable_rpc_url):
    settings.CHAIN_NETWORKS = network_settings(unavailable_rpc_url)
    head = store.head_position()

    summary = services.watch_chains()

    assert "anvil" in summary.unavailable and "503" in summary.unavailable["anvil"]
    assert store.head_position() == head


@pytest.fixture
def flaky_proxy(anvil) -> Iterator[dict]:
    """An RPC endpoint in front of anvil that starts answering 503 when `state["down"]` is set, after our
    client for it has been created (web3 clients are kept per URL)."""
    state = {"down": False, "down_for": set()}  # down_for: the JSON-RPC methods answered 503

    class Proxy(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            down = state["down"] or json.loads(body).get("method") in state["down_for"]
            status, answer = (503, b"") if down else (200, requests.post(
                anvil.url, data=body, headers={"Content-Type": "application/json"}, timeout=10).content)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_port}"
    yield state
    server.shutdown()
    server.server_close()


def test_the_watcher_survives_a_node_that_starts_answering_503_and_resumes_later(token, settings, flaky_proxy):
    settings.CHAIN_NETWORKS = network_settings(flaky_proxy["url"])
    assert "anvil" not in services.watch_chains().unavailable  # the client for this URL now exists
    flaky_proxy["down"] = True

    summary = services.watch_chains()

    assert "anvil" in summary.unavailable and "503" in summary.unavailable["anvil"]
    flaky_proxy["down"] = False
    assert "anvil" not in services.watch_chains().unavailable


def test_a_redemption_step_meeting_a_503_node_is_left_for_the_next_run_not_crashed(partner, token, keys, w3, settings,
                                                                                   flaky_proxy, book_share_journal):
    """Reading the head block (is a missing deposit gone for good?) goes through the wrapped helper too."""
    from .test_deposit_reorgs import reorged_out_deposit

    settings.CHAIN_NETWORKS = network_settings(flaky_proxy["url"])
    redeem, _ = reorged_out_deposit(partner, token, keys, w3, book_share_journal)
    flaky_proxy["down_for"] = {"eth_blockNumber"}

    assert tasks.process_redeem(redeem.id) == "held: chain_unavailable"


def test_one_mint_failing_unexpectedly_does_not_stop_the_mints_and_redemptions_after_it(monkeypatch, caplog):
    attempted = []

    def process_mint(request_id, **kwargs):
        attempted.append(request_id)
        if request_id == "mint-oldest":
            raise ValueError("a bug in one request")
        return type("Mint", (), {"status": "completed"})()

    def process_redeem(redeem_id, **kwargs):
        attempted.append(redeem_id)
        return type("Redeem", (), {"status": "completed"})()

    monkeypatch.setattr(services, "poll_itn_mints", lambda: ([], []))
    monkeypatch.setattr(services, "pending_mint_ids", lambda: ["mint-oldest", "mint-next"])
    monkeypatch.setattr(services, "pending_redeem_ids", lambda: ["redeem-1"])
    monkeypatch.setattr(services, "process_mint", process_mint)
    monkeypatch.setattr(services, "process_redeem", process_redeem)

    assert tasks.process_pending() == {"mints": 2, "redeems": 1, "failed": 1}
    assert attempted == ["mint-oldest", "mint-next", "redeem-1"]
    assert "mint-oldest" in caplog.text
