"""Breaks are owned and closed by people with a record: acknowledged by whom, resolved with a reason and the
ledger event that corrected the difference; and a critical one pages operations through a signed webhook."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from ledger import store
from ledger.store import NewEvent, Posting
from reconciliation import services
from reconciliation.errors import BreakStateConflict, ResolutionReasonMissing, UnknownCorrectingEvent
from reconciliation.models import Break

pytestmark = pytest.mark.django_db


@pytest.fixture
def unbacked(backed_token) -> Break:
    backed_token.mint_bypassing_the_system(5)
    services.run_reconciliation([backed_token.symbol])
    return Break.objects.get(kind="unbacked_supply", symbol=backed_token.symbol)


def correcting_event(symbol: str) -> int:
    """Operations book the 5 shares bought to cover the rogue tokens."""
    result = store.append("journal", f"recon-fix-{symbol}", [NewEvent("custody_adjusted", {"reason": "cover"}, postings=[
        Posting(f"equity:opening:{symbol}", symbol, -5), Posting(f"market:x:{symbol}", symbol, 5)])],
        metadata={"actor": "user:bob"})
    return result.last_position


def test_acknowledging_a_break_records_who_and_keeps_it_live(unbacked, backed_token):
    acknowledged = services.acknowledge_break(unbacked.break_id, "user:alice", note="looking into the minter key")

    assert (acknowledged.status, acknowledged.acknowledged_by) == ("acknowledged", "user:alice")
    event = store.read_stream("reconciliation_break", unbacked.break_id)[-1]
    assert (event.event_type, event.metadata["actor"], event.payload["note"]) == (
        "break_acknowledged", "user:alice", "looking into the minter key")
    again = services.run_reconciliation([backed_token.symbol])
    assert unbacked.break_id in {outcome.break_id for outcome in again.breaks}  # still the same break
    with pytest.raises(BreakStateConflict):
        services.acknowledge_break(unbacked.break_id, "user:carol")


def test_resolving_needs_a_reason_and_a_real_correcting_event(unbacked, backed_token):
    with pytest.raises(ResolutionReasonMissing):
        services.resolve_break(unbacked.break_id, "user:bob", " ", 1)
    with pytest.raises(UnknownCorrectingEvent):
        services.resolve_break(unbacked.break_id, "user:bob", "shares bought", 10**12)

    position = correcting_event(backed_token.symbol)
    resolved = services.resolve_break(unbacked.break_id, "user:bob", "shares bought to cover", position)

    assert (resolved.status, resolved.resolved_by, resolved.correcting_event_position) == ("resolved", "user:bob", position)
    assert resolved.resolution_reason == "shares bought to cover"
    with pytest.raises(BreakStateConflict):
        services.resolve_break(unbacked.break_id, "user:bob", "twice", position)


def test_a_difference_still_there_after_a_resolution_opens_a_new_break(unbacked, backed_token):
    services.resolve_break(unbacked.break_id, "user:bob", "thought it was fixed", correcting_event(backed_token.symbol))

    result = services.run_reconciliation([backed_token.symbol])

    reopened = {outcome.found.kind: outcome for outcome in result.breaks}["unbacked_supply"]
    assert reopened.new and reopened.break_id != unbacked.break_id
    assert Break.objects.get(pk=unbacked.break_id).status == "resolved"


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict, bytes]] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook_receiver():
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    Receiver.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


def test_a_new_critical_break_is_posted_to_the_webhook_signed_and_only_once(
        backed_token, settings, webhook_receiver, django_capture_on_commit_callbacks):
    settings.RECONCILIATION_ALERT_WEBHOOK_URL = webhook_receiver
    settings.RECONCILIATION_ALERT_WEBHOOK_SECRET = "test-secret"
    backed_token.mint_bypassing_the_system(3)

    with django_capture_on_commit_callbacks(execute=True):
        result = services.run_reconciliation([backed_token.symbol])
    with django_capture_on_commit_callbacks(execute=True):
        services.run_reconciliation([backed_token.symbol])  # seen again: nobody is paged twice

    (headers, body) = Receiver.received[0]
    assert len(Receiver.received) == 1
    timestamp, signature = (part.split("=", 1)[1] for part in headers["X-Shareledger-Signature"].split(","))
    expected = hmac.new(b"test-secret", f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    alert = json.loads(body)
    assert alert["run_id"] == result.run_id
    assert sorted((b["kind"], b["symbol"], b["amount"]) for b in alert["breaks"]) == [
        ("unbacked_supply", backed_token.symbol, "3"), ("unknown_mint", backed_token.symbol, "3")]
