"""Status changes of a partner's requests reach its endpoint signed, retried with backoff, logged, and
verifiable by a receiver written from docs/webhooks.md alone (the Receiver below)."""
from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import socket
import threading
import time
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from api import tasks
from api.errors import InvalidWebhookUrl
from api.models import WebhookDelivery, WebhookEndpoint
from api.webhooks import delivery, follower
from api.webhooks.endpoints import register_endpoint
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


class Listener:
    """A bare TCP server on loopback that counts connections (an internal service, or a receiver that sends
    its answer one byte at a time for `drip_seconds`)."""

    def __init__(self, drip_seconds: float = 0.0):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.drip_seconds = drip_seconds
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn):
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                end = time.monotonic() + self.drip_seconds
                while time.monotonic() < end:  # each byte well within the read timeout
                    conn.sendall(b"X")
                    time.sleep(0.1)
                conn.sendall(b": y\r\nContent-Length: 0\r\n\r\n")
            except OSError:
                pass

    def close(self):
        self.sock.close()


def pending_delivery(endpoint: WebhookEndpoint) -> WebhookDelivery:
    return WebhookDelivery.objects.create(endpoint=endpoint, event_id="evt_1", event_type="mint_request.requested",
                                          payload={"id": "evt_1"})


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


def test_a_host_that_rebinds_to_loopback_after_its_check_is_never_connected_to(alice, settings, monkeypatch):
    settings.API_WEBHOOK_ALLOW_INSECURE = False
    internal = Listener()
    real_getaddrinfo, answers = socket.getaddrinfo, []

    def rebinding_dns(host, port, *args, **kwargs):  # TTL 0: public for each check, loopback for the connection
        if host != "hooks.partner.example":
            return real_getaddrinfo(host, port, *args, **kwargs)
        answers.append("93.184.216.34" if len(answers) < 2 else "127.0.0.1")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[-1], port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)
    sent = pending_delivery(register_endpoint(alice.id, f"https://hooks.partner.example:{internal.port}/h"))
    attempted = delivery.deliver(sent.pk)
    internal.close()
    assert internal.connections == 0 and len(answers) == 3  # registration, check at send time, connection
    assert (attempted.status, attempted.last_status_code) == ("pending", None)
    assert sent.attempt_log.get().error == "webhook host 'hooks.partner.example' resolves to a non-public address"


def test_a_refused_connection_is_logged_without_the_network_error_text(alice):
    with socket.socket() as closed:  # bound, not listening: connections are refused, the port stays taken
        closed.bind(("127.0.0.1", 0))
        sent = pending_delivery(register_endpoint(alice.id, f"http://127.0.0.1:{closed.getsockname()[1]}/h"))
        delivery.deliver(sent.pk)
    assert sent.attempt_log.get().error == "connection failed"


def test_a_receiver_dripping_its_answer_is_cut_off_at_the_timeout_well_within_the_claim(alice, settings):
    settings.API_WEBHOOK_TIMEOUT_SECONDS = 0.5  # requests' timeout bounds each read, not the whole answer
    slow = Listener(drip_seconds=3)
    sent = pending_delivery(register_endpoint(alice.id, f"http://127.0.0.1:{slow.port}/h"))
    started = time.monotonic()
    attempted = delivery.deliver(sent.pk)
    slow.close()
    assert time.monotonic() - started < 1.5
    assert (attempted.status, attempted.last_status_code) == ("pending", None)
    assert sent.attempt_log.get().error == "no complete answer within 0.5 s"


def test_the_late_result_of_an_attempt_whose_claim_ran_out_does_not_overwrite_a_newer_one(
        alice, receiver, monkeypatch):
    hooks = receiver()
    endpoint = register_endpoint(alice.id, hooks.url)
    hooks.secret = endpoint.secret
    sent = pending_delivery(endpoint)
    real_post = delivery._post

    def post_outliving_its_claim(claimed):
        WebhookDelivery.objects.filter(pk=claimed.pk).update(next_attempt_at=timezone.now())  # the lease ran out
        monkeypatch.setattr(delivery, "_post", real_post)
        assert delivery.deliver(claimed.pk).status == "delivered"  # another worker claims it and delivers
        return None, "no complete answer within 10 s"

    monkeypatch.setattr(delivery, "_post", post_outliving_its_claim)
    delivery.deliver(sent.pk)
    sent.refresh_from_db()
    assert (sent.status, sent.attempts, sent.last_status_code, sent.next_attempt_at) == ("delivered", 2, 200, None)
    assert [(a.number, a.status_code) for a in sent.attempt_log.all()] == [(1, 200), (2, None)]


@pytest.mark.parametrize("insecure", [False, True])
def test_a_webhook_url_with_an_impossible_port_is_refused_and_nothing_is_stored(alice, settings, insecure):
    settings.API_WEBHOOK_ALLOW_INSECURE = insecure
    response = alice.api.post("/api/v1/webhook-endpoints", {"url": "https://hooks.example.com:99999/h"})
    assert (response.status, response.json()["code"]) == (400, "invalid_webhook_url")
    assert not WebhookEndpoint.objects.filter(partner_id=alice.id).exists()


def test_a_url_that_does_not_parse_is_an_invalid_webhook_url_for_the_service_too(alice):
    with pytest.raises(InvalidWebhookUrl):
        register_endpoint(alice.id, "https://[::1/h")
