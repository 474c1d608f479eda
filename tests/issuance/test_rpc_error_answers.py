"""An RPC endpoint that answers an HTTP error status (rate limited, a proxy with no node behind it) is a node
that is down: the chain watcher records the network as unavailable and resumes later, it never crashes."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from issuance import services
from ledger import store

from .support import network_settings

pytestmark = pytest.mark.django_db


class ServiceUnavailable(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def unavailable_rpc_url() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), ServiceUnavailable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_the_watcher_marks_a_network_answering_503_unavailable_instead_of_crashing(token, settings,
                                                                                   unavailable_rpc_url):
    settings.CHAIN_NETWORKS = network_settings(unavailable_rpc_url)
    head = store.head_position()

    summary = services.watch_chains()

    assert "anvil" in summary.unavailable and "503" in summary.unavailable["anvil"]
    assert store.head_position() == head
