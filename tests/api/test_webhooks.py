"""Status changes of a partner's requests reach its endpoint signed, retried with backoff, logged, and
verifiable by a receiver written from docs/webhooks.md alone (the Receiver below)."""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.server
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.utils import timezone

from api import checks, tasks
from api.errors import InvalidWebhookUrl
from api.models import WebhookDelivery, WebhookEndpoint
from api.webhooks import delivery, follower
from api.webhooks.endpoints import register_endpoint
from api.webhooks.signing import signature_header
from issuance import services as issuance
from ledger.models import IdempotencyRecord
from tests.conftest import ROOT
from tests.issuance.conftest import book_share_journal  # noqa: F401  (fixture: custody's sync booking a JNLS)
from tests.issuance.support import book_custody_shares

from .support import OPS

PARTNER_HOST = "hooks.partner.example"


class Receiver:
    """A partner's webhook endpoint, implemented from docs/webhooks.md: raw body, header split on "," into
    t and v1, HMAC-SHA256(secret, t + "." + body) compared in constant time, 300 s tolerance, dedupe on id.
    With `tls` (a server context) it answers https on PARTNER_HOST, which the test's resolver must place."""

    def __init__(self, fail_first: int = 0, tls: ssl.SSLContext | None = None):
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
        if tls is None:
            self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        else:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
            self.url = f"https://{PARTNER_HOST}:{self.server.server_port}/hooks"
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


class LoopbackServer:
    """A TCP server on loopback that counts connections and handles each on a thread of its own (`handle`)."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn: socket.socket):
        raise NotImplementedError

    def close(self):
        self.sock.close()


class Listener(LoopbackServer):
    """A bare TCP server on loopback that counts connections (an internal service, or a receiver that sends
    its answer one byte at a time for `drip_seconds`)."""

    def __init__(self, drip_seconds: float = 0.0):
        self.drip_seconds = drip_seconds
        super().__init__()

    def handle(self, conn):
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


@dataclass(frozen=True)
class PartnerPki:
    ca_bundle: Path  # the partner's private CA, as an operator would configure it
    server_context: ssl.SSLContext  # the receiver's certificate for PARTNER_HOST, issued by that CA


@pytest.fixture(scope="module")
def partner_pki(tmp_path_factory) -> PartnerPki:
    """A private CA made for these tests with openssl, and the server certificate it issued to PARTNER_HOST."""
    folder = tmp_path_factory.mktemp("partner_pki")
    config = folder / "openssl.cnf"
    config.write_text("[req]\ndistinguished_name = dn\n[dn]\n"
                      "[ca]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n"
                      "subjectKeyIdentifier = hash\n"
                      f"[server]\nsubjectAltName = DNS:{PARTNER_HOST}\nbasicConstraints = critical, CA:FALSE\n"
                      "keyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\n"
                      "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n")
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)

    openssl("req", "-config", config.name, "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=partner test CA", "-extensions", "ca")
    openssl("req", "-config", config.name, *key, "-keyout", "server.key", "-out", "server.csr",
            "-subj", f"/CN={PARTNER_HOST}")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", config.name, "-extensions", "server", "-out", "server.pem")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "server.pem", folder / "server.key")
    return PartnerPki(folder / "ca.pem", context)


@pytest.fixture
def partner_dns(monkeypatch) -> dict[str, str | None]:
    """Our resolver's answer for each name put in the dict (None: the name does not resolve); other names resolve
    as usual."""
    answers: dict[str, str | None] = {}
    real_getaddrinfo = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host not in answers:
            return real_getaddrinfo(host, port, *args, **kwargs)
        if answers[host] is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return answers


class ConnectProxy(LoopbackServer):
    """An operator's forward proxy: it opens CONNECT tunnels to the names it resolves itself (`names`), and logs
    each request's method and target in `requests`; `refuse` answers every one 403."""

    def __init__(self, names: dict[str, str], refuse: bool = False):
        self.names = names
        self.refuse = refuse
        self.requests: list[str] = []
        super().__init__()
        self.url = f"http://127.0.0.1:{self.port}"

    def handle(self, client: socket.socket):
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ")
            self.requests.append(f"{method} {target}")
            host, port = target.rsplit(":", 1)
            if self.refuse or method != "CONNECT":
                client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            with socket.create_connection((self.names[host], int(port))) as upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                answers = threading.Thread(target=self._pipe, args=(upstream, client), daemon=True)
                answers.start()
                self._pipe(client, upstream)
                answers.join(timeout=10)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket):
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def proxy():
    made = []

    def make(names: dict[str, str] | None = None, **options) -> ConnectProxy:
        made.append(ConnectProxy(names or {}, **options))
        return made[-1]

    yield make
    for item in made:
        item.close()


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
    before = timezone.now()  # the backoff counts from the end of the attempt: between these two moments
    first = delivery.deliver(delivery.due_deliveries()[0])
    assert (first.status, first.attempts, first.last_status_code) == ("pending", 1, 503)
    assert before + timedelta(seconds=10) <= first.next_attempt_at <= timezone.now() + timedelta(seconds=10)
    assert delivery.deliver(first.pk) is None  # not due yet
    WebhookDelivery.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now())
    before = timezone.now()
    second = delivery.deliver(first.pk)
    assert second.attempts == 2
    assert before + timedelta(seconds=20) <= second.next_attempt_at <= timezone.now() + timedelta(seconds=20)
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


def registered(partner, hooks: Receiver) -> WebhookEndpoint:
    endpoint = register_endpoint(partner.id, hooks.url)
    hooks.secret = endpoint.secret
    return endpoint


def test_a_partner_behind_a_private_ca_is_delivered_to_once_that_ca_is_the_configured_bundle(
        alice, receiver, partner_pki, partner_dns, settings):
    partner_dns[PARTNER_HOST] = "127.0.0.1"
    hooks = receiver(tls=partner_pki.server_context)
    sent = pending_delivery(registered(alice, hooks))

    settings.API_WEBHOOK_CA_BUNDLE = ""  # none configured: requests' own public CAs
    refused = delivery.deliver(sent.pk)
    settings.API_WEBHOOK_CA_BUNDLE = str(partner_pki.ca_bundle)
    WebhookDelivery.objects.filter(pk=sent.pk).update(next_attempt_at=timezone.now())
    delivered = delivery.deliver(sent.pk)

    assert (refused.status, refused.last_status_code) == ("pending", None)
    assert (delivered.status, delivered.last_status_code) == ("delivered", 200)
    assert [a.error for a in sent.attempt_log.order_by("number")] == [
        "TLS handshake or certificate verification failed", ""]
    assert [event["id"] for event in hooks.processed] == ["evt_1"]


def test_the_certificate_must_name_the_urls_host_though_the_connection_goes_to_a_checked_address(
        alice, receiver, partner_pki, partner_dns, settings):
    settings.API_WEBHOOK_CA_BUNDLE = str(partner_pki.ca_bundle)
    partner_dns["other.partner.example"] = "127.0.0.1"  # the same server, under a name its certificate lacks
    hooks = receiver(tls=partner_pki.server_context)
    sent = pending_delivery(register_endpoint(alice.id, hooks.url.replace(PARTNER_HOST, "other.partner.example")))

    attempted = delivery.deliver(sent.pk)

    assert (attempted.status, attempted.last_status_code) == ("pending", None)
    assert sent.attempt_log.get().error == "TLS handshake or certificate verification failed"
    assert hooks.processed == []


@pytest.mark.parametrize(("environment", "bundle"), [
    ({}, ""),
    ({"SSL_CERT_FILE": "{ca}"}, "{ca}"),
    ({"SSL_CERT_FILE": "{other}", "REQUESTS_CA_BUNDLE": "{ca}"}, "{ca}"),
    ({"REQUESTS_CA_BUNDLE": "{other}", "API_WEBHOOK_CA_BUNDLE": "{ca}"}, "{ca}"),
])
def test_the_webhook_ca_bundle_defaults_to_the_processs_requests_ca_bundle_or_ssl_cert_file(
        partner_pki, tmp_path, environment, bundle):
    paths = {"ca": str(partner_pki.ca_bundle), "other": str(tmp_path)}
    done = settings_in_child({name: value.format(**paths) for name, value in environment.items()},
                             "API_WEBHOOK_CA_BUNDLE")
    assert (done.returncode, done.stdout.strip()) == (0, bundle.format(**paths)), done.stderr


@pytest.mark.parametrize(("environment", "refusal"), [
    ({"REQUESTS_CA_BUNDLE": "/nowhere/ca.pem"}, "RuntimeError: REQUESTS_CA_BUNDLE=/nowhere/ca.pem does not exist"),
    ({"API_WEBHOOK_PROXY_URL": "https://proxy.internal:3128"}, "RuntimeError: API_WEBHOOK_PROXY_URL must be http://"),
    ({"API_WEBHOOK_PROXY_URL": "http://proxy.internal"}, "RuntimeError: API_WEBHOOK_PROXY_URL must be http://"),
])
def test_a_webhook_ca_bundle_that_does_not_exist_or_a_proxy_url_we_cannot_tunnel_through_stops_the_start(
        environment, refusal):
    done = settings_in_child(environment, "API_WEBHOOK_PROXY_URL")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith(refusal)


def settings_in_child(environment: dict[str, str], name: str) -> subprocess.CompletedProcess:
    """Import the settings in a fresh process with only these of the variables that choose the webhook CA bundle
    and proxy, and print one setting."""
    chosen = ("API_WEBHOOK_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "API_WEBHOOK_PROXY_URL")
    env = {key: value for key, value in os.environ.items() if key not in chosen}
    env.update(environment, DATABASE_URL="postgresql://nobody@127.0.0.1:9/unused", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", f"import config.settings as s; print(s.{name})"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_through_the_configured_proxy_the_tunnel_is_opened_by_name_and_tls_is_verified_end_to_end(
        alice, receiver, proxy, partner_pki, partner_dns, settings):
    settings.API_WEBHOOK_ALLOW_INSECURE = False
    settings.API_WEBHOOK_CA_BUNDLE = str(partner_pki.ca_bundle)
    partner_dns[PARTNER_HOST] = None  # our network resolves no public name: only the proxy does
    hooks = receiver(tls=partner_pki.server_context)
    egress_proxy = proxy({PARTNER_HOST: "127.0.0.1"})
    settings.API_WEBHOOK_PROXY_URL = egress_proxy.url
    sent = pending_delivery(registered(alice, hooks))

    attempted = delivery.deliver(sent.pk)

    assert (attempted.status, attempted.last_status_code) == ("delivered", 200)
    assert egress_proxy.requests == [f"CONNECT {PARTNER_HOST}:{hooks.server.server_port}"]
    assert [event["id"] for event in hooks.processed] == ["evt_1"]


def test_a_tunnel_the_proxy_refuses_is_logged_as_a_failed_connection_without_the_proxys_answer(
        alice, proxy, partner_dns, settings):
    settings.API_WEBHOOK_ALLOW_INSECURE = False
    partner_dns[PARTNER_HOST] = None
    refusing = proxy(refuse=True)
    settings.API_WEBHOOK_PROXY_URL = refusing.url
    sent = pending_delivery(register_endpoint(alice.id, f"https://{PARTNER_HOST}/hooks"))

    attempted = delivery.deliver(sent.pk)

    assert refusing.requests == [f"CONNECT {PARTNER_HOST}:443"]
    assert (attempted.status, attempted.last_status_code) == ("pending", None)
    assert sent.attempt_log.get().error == "connection failed"


def test_through_a_proxy_a_host_our_resolver_places_in_our_network_is_refused_before_the_proxy_sees_it(
        alice, proxy, partner_dns, settings):
    settings.API_WEBHOOK_ALLOW_INSECURE = False
    egress_proxy = proxy({PARTNER_HOST: "127.0.0.1"})
    settings.API_WEBHOOK_PROXY_URL = egress_proxy.url
    partner_dns["db.internal"] = "10.0.0.5"
    partner_dns[PARTNER_HOST] = "93.184.216.34"
    with pytest.raises(InvalidWebhookUrl, match="non-public"):
        register_endpoint(alice.id, "https://db.internal/hooks")
    sent = pending_delivery(register_endpoint(alice.id, f"https://{PARTNER_HOST}/hooks"))
    partner_dns[PARTNER_HOST] = "10.0.0.5"  # moved into our network after its registration

    attempted = delivery.deliver(sent.pk)

    assert sent.attempt_log.get().error == f"webhook host '{PARTNER_HOST}' resolves to a non-public address"
    assert (attempted.status, egress_proxy.requests) == ("pending", [])


def test_through_a_proxy_a_host_name_no_resolver_could_look_up_is_still_refused_at_registration(
        alice, proxy, settings):
    settings.API_WEBHOOK_ALLOW_INSECURE = False
    settings.API_WEBHOOK_PROXY_URL = proxy().url
    with pytest.raises(InvalidWebhookUrl, match="does not resolve"):
        register_endpoint(alice.id, f"https://{'a' * 64}.example/hooks")  # a DNS label is at most 63 bytes
    assert not WebhookEndpoint.objects.filter(partner_id=alice.id).exists()


def test_proxies_from_the_environment_are_not_used_and_the_system_check_says_so(
        alice, receiver, proxy, partner_pki, partner_dns, settings, monkeypatch):
    settings.API_WEBHOOK_CA_BUNDLE = str(partner_pki.ca_bundle)
    partner_dns[PARTNER_HOST] = "127.0.0.1"
    environment_proxy = proxy({PARTNER_HOST: "127.0.0.1"})
    monkeypatch.setenv("HTTPS_PROXY", environment_proxy.url)
    hooks = receiver(tls=partner_pki.server_context)

    attempted = delivery.deliver(pending_delivery(registered(alice, hooks)).pk)
    [said] = checks.webhooks_do_not_use_environment_proxies(None)
    settings.API_WEBHOOK_PROXY_URL = environment_proxy.url

    assert (attempted.status, environment_proxy.requests) == ("delivered", [])
    assert (said.id, said.msg.split(" set,")[0]) == ("api.I001", "HTTPS_PROXY")
    assert checks.webhooks_do_not_use_environment_proxies(None) == []
