"""Status changes of a partner's requests reach its endpoint signed, retried with backoff, logged, and
verifiable by a receiver written from docs/webhooks.md alone (the Receiver below)."""
from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
import time
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from api import tasks
from api.models import WebhookDelivery
from api.webhooks import delivery, follower
from api.webhooks.signing import signature_header
from issuance import services as issuance
from ledger.models import IdempotencyRecord
from tests.issuance.conftest import book_share_journal  # noqa: F401  (fixture: custody's sync booking a JNLS)
from tests.issuance.support import book_custody_shares

from .support import OPS


class Receiver:
    """A partner's webhook endpoint, implemented from docs/webhooks.md: raw body, header split on "," into
    t and v1, HMAC-SHA256(secret, t + "." + body) compared in constant time, 300 s tolerance, dedupe on id."""

    def __init__(self, fail_first: int = 0):
        self.secret = ""
        self.fail_first = fail_first
        self.seen_ids: list[str] = []
        self.processed: list[dict] = []
        self.rejections: list[str] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.handle(self.headers.get("X-Shareledger-Signature", ""), raw)
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def verify(self, header: str, raw_body: bytes, tolerance: int = 300) -> dict:
        pairs = [item.split("=", 1) for item in header.split(",") if "=" in item]
        timestamps = [v for k, v in pairs if k.strip() == "t"]
        signatures = [v for k, v in pairs if k.strip() == "v1"]
        if len(timestamps) != 1 or not signatures or not timestamps[0].isdigit():
            raise ValueError("malformed signature header")
        expected = hmac.new(self.secret.encode(), timestamps[0].encode() + b"." + raw_body, hashlib.sha256).hexdigest()
        if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
            raise ValueError("signature mismatch")
        if abs(time.time() - int(timestamps[0])) > tolerance:
            raise ValueError("timestamp outside the tolerance: possible replay")
        return json.loads(raw_body)

    def handle(self, header: str, raw: bytes) -> int:
        try:
            event = self.verify(header, raw)
        except ValueError as exc:
            self.rejections.append(str(exc))
            return 400
        if self.fail_first > 0:
            self.fail_first -= 1
            return 503
        if event["id"] not in self.seen_ids:  # deduplicate: a replay is harmless
            self.seen_ids.append(event["id"])
            self.processed.append(event)
        return 200

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(**options) -> Receiver:
        made.append(Receiver(**options))
        return made[-1]

    yield make
    for item in made:
        item.close()


def register(partner, receiver: Receiver) -> dict:
    response = partner.api.post("/api/v1/webhook-endpoints", {"url": receiver.url, "description": "test"})
    assert response.status == 201
    receiver.secret = response.json()["secret"]
    return response.json()


def mint(partner, token, quantity="4"):
    return partner.api.post("/api/v1/mint-requests", {"symbol": token.instrument.symbol, "network": "anvil",
                                                      "quantity": quantity, "wallet_address": partner.wallet.address}).json()


def deliver_all() -> list[WebhookDelivery]:
    return [delivery.deliver(pk) for pk in delivery.due_deliveries()]


def test_the_secret_is_shown_once_at_registration(alice, receiver):
    endpoint = register(alice, receiver())
    assert endpoint["secret"].startswith("whsec_")
    assert "secret" not in alice.api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}").json()
    assert all("secret" not in e for e in alice.api.get("/api/v1/webhook-endpoints").json()["results"])


def test_a_replayed_registration_returns_the_endpoint_without_its_secret_which_is_not_kept_for_replays(alice):
    body = {"url": "https://a.example/hooks", "description": "prod"}
    first = alice.api.post("/api/v1/webhook-endpoints", body, idempotency_key="hooks-0001")
    secret = first.json()["secret"]
    replay = alice.api.post("/api/v1/webhook-endpoints", body, idempotency_key="hooks-0001")
    assert (replay.status, replay.headers["Idempotent-Replayed"]) == (201, "true")
    assert replay.json() == {name: value for name, value in first.json().items() if name != "secret"}
    stored = IdempotencyRecord.objects.get(scope=f"api:{alice.id}", key="hooks-0001").result
    assert secret not in json.dumps(stored)


def test_status_changes_reach_only_the_owner_signed_and_verifiable(alice, bob, token, receiver):
    follower.queue_deliveries()  # first run starts at the head of the log
    alice_hooks, bob_hooks = receiver(), receiver()
    register(alice, alice_hooks)
    register(bob, bob_hooks)
    request = mint(alice, token)
    created, caught_up = follower.queue_deliveries()
    assert len(created) == 2 and caught_up
    assert all(d.status == "delivered" and d.attempts == 1 for d in deliver_all())
    assert [e["type"] for e in alice_hooks.processed] == ["mint_request.requested", "mint_request.approved"]
    assert {e["data"]["id"] for e in alice_hooks.processed} == {request["id"]}
    assert alice_hooks.processed[1]["data"]["status"] == "approved"
    assert bob_hooks.processed == [] and alice_hooks.rejections == []
    assert follower.queue_deliveries() == ([], True)  # each event is queued once


def test_a_tampered_body_or_an_old_timestamp_is_rejected_by_the_receiver(alice, token, receiver):
    follower.queue_deliveries()
    hooks = receiver()
    register(alice, hooks)
    mint(alice, token)
    follower.queue_deliveries()
    sent = WebhookDelivery.objects.filter(endpoint__partner_id=alice.id).first()
    body = json.dumps(sent.payload, separators=(",", ":"), sort_keys=True).encode()  # what the deliverer sends
    now = int(time.time())
    tampered = body.replace(f'"status":"{sent.payload["data"]["status"]}"'.encode(), b'"status":"completed"')
    assert tampered != body
    assert requests.post(hooks.url, data=tampered, headers={
        "X-Shareledger-Signature": signature_header(hooks.secret, now, body)}).status_code == 400
    replayed = signature_header(hooks.secret, now - 3600, body)
    assert requests.post(hooks.url, data=body, headers={"X-Shareledger-Signature": replayed}).status_code == 400
    assert requests.post(hooks.url, data=body, headers={
        "X-Shareledger-Signature": signature_header("whsec_wrong", now, body)}).status_code == 400
    assert hooks.rejections == ["signature mismatch", "timestamp outside the tolerance: possible replay",
                                "signature mismatch"]
    assert requests.post(hooks.url, data=body, headers={
        "X-Shareledger-Signature": signature_header(hooks.secret, now, body)}).status_code == 200


def test_a_failing_endpoint_is_retried_with_backoff_and_every_attempt_is_logged(alice, token, receiver, settings):
    settings.API_WEBHOOK_BACKOFF_SECONDS = 10
    follower.queue_deliveries()
    hooks = receiver(fail_first=2)
    endpoint = register(alice, hooks)
    mint(alice, token)
    follower.queue_deliveries()
    first = delivery.deliver(delivery.due_deliveries()[0])
    assert (first.status, first.attempts, first.last_status_code) == ("pending", 1, 503)
    assert timedelta(seconds=9) < first.next_attempt_at - timezone.now() <= timedelta(seconds=10)
    assert delivery.deliver(first.pk) is None  # not due yet
    WebhookDelivery.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now())
    second = delivery.deliver(first.pk)
    assert second.attempts == 2 and timedelta(seconds=19) < second.next_attempt_at - timezone.now() <= timedelta(seconds=20)
    WebhookDelivery.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now())
    third = delivery.deliver(first.pk)
    assert (third.status, third.attempts, third.last_status_code) == ("delivered", 3, 200)
    log = alice.api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries", {"ordering": "created_at"})
    logged = log.json()["results"][0]
    assert [(a["number"], a["status_code"]) for a in logged["attempt_log"]] == [(1, 503), (2, 503), (3, 200)]
    assert logged["event_id"] == hooks.processed[0]["id"]


def test_a_delivery_that_never_succeeds_fails_after_the_last_attempt(alice, token, receiver, settings):
    settings.API_WEBHOOK_MAX_ATTEMPTS = 2
    follower.queue_deliveries()
    register(alice, receiver(fail_first=99))
    mint(alice, token)
    follower.queue_deliveries()
    pk = delivery.due_deliveries()[0]
    delivery.deliver(pk)
    WebhookDelivery.objects.filter(pk=pk).update(next_attempt_at=timezone.now())
    final = delivery.deliver(pk)
    assert (final.status, final.attempts, final.next_attempt_at) == ("failed", 2, None)


def test_a_redelivered_event_keeps_its_id_so_the_receiver_processes_it_once(alice, token, receiver):
    follower.queue_deliveries()
    hooks = receiver()
    register(alice, hooks)
    mint(alice, token)
    follower.queue_deliveries()
    tasks.deliver_due_webhooks()
    for sent in WebhookDelivery.objects.filter(endpoint__partner_id=alice.id):
        delivery.redeliver(sent)
    tasks.deliver_due_webhooks()
    assert len(hooks.seen_ids) == 2 and len(hooks.processed) == 2
    assert WebhookDelivery.objects.filter(endpoint__partner_id=alice.id, status="delivered").count() == 2


def test_a_disabled_endpoint_receives_nothing_more(alice, token, receiver):
    follower.queue_deliveries()
    hooks = receiver()
    endpoint = register(alice, hooks)
    assert alice.api.delete(f"/api/v1/webhook-endpoints/{endpoint['id']}").json()["active"] is False
    mint(alice, token)
    assert follower.queue_deliveries()[0] == []


def test_a_mint_refused_at_signing_for_reserves_reaches_the_partner_with_its_failure_code(
        alice, token, receiver, book_share_journal):  # noqa: F811
    follower.queue_deliveries()
    hooks = receiver()
    register(alice, hooks)
    request = mint(alice, token, "5")
    book_share_journal(token.instrument.symbol, "5")  # the partner's 5 shares arrive in custody
    issuance.secure_shares(request["id"], OPS, via="journal")
    book_custody_shares(token.instrument.symbol, "-5", reason="shares left custody unrecorded")
    issuance.process_mint(request["id"], wait_seconds=0)
    follower.queue_deliveries()
    deliver_all()
    assert [e["type"] for e in hooks.processed][-1] == "mint_request.failed"
    assert hooks.processed[-1]["data"]["failure_code"] == "insufficient_reserves"
    assert alice.api.get(f"/api/v1/mint-requests/{request['id']}").json()["failure_code"] == "insufficient_reserves"


@pytest.mark.parametrize("stream_type, event_type, payload, status", [
    ("mint_request", "mint_broadcast", {"first": True}, "broadcast"),
    ("mint_request", "mint_broadcast", {"first": False}, None),  # a rebroadcast changes nothing for the partner
    ("mint_request", "mint_reincluded", {}, None),
    ("mint_request", "mint_reorged", {}, "broadcast"),
    ("redeem_request", "redeem_requested", {"status": "held", "partner_id": None}, "held"),
    ("redeem_request", "burn_broadcast", {"first": False}, None),
    ("redeem_request", "burn_confirmed", {}, "burned"),
])
def test_only_status_changes_become_webhook_events(stream_type, event_type, payload, status):
    from datetime import UTC, datetime

    from api.webhooks import events
    from ledger.store import RecordedEvent

    now = datetime.now(UTC)
    event = RecordedEvent(1, stream_type, "r-1", 2, event_type, 1, payload, {"actor": "system:test"}, now, now, (),
                          "0" * 64, "1" * 64)
    assert events.new_status(event) == status
