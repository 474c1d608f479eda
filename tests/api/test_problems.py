"""Every failure is an RFC 9457 problem with a stable code, and every code the OpenAPI document promises is
reachable. Each test below reaches some codes and records them; the last test compares with the schema."""
from __future__ import annotations

import json
import secrets
import threading
import time

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from eth_account import Account

from api import keys
from api.models import ApiKey

from custody.instruments import pause_instrument
from issuance.models import RedeemRequest
from issuance.services import deploy_token, secure_shares
from ledger import store
from partners.services import create_partner
from tests.conftest import run_python, wait_until_an_append_waits
from tests.issuance.conftest import book_share_journal  # noqa: F401  (fixture: custody's sync booking a JNLS)

from .conftest import onboard
from .support import OPS, PartnerClient, client_for, make_instrument
from .test_redemptions import deposit_from

REACHED: set[str] = set()
PROBLEM_FIELDS = {"type", "title", "status", "detail", "code", "instance"}


def expect(response, status: int, code: str) -> dict:
    assert response.status == status, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert PROBLEM_FIELDS <= set(body) and body["code"] == code and body["status"] == status
    assert body["type"] == f"urn:shareledger:problem:{code}"
    REACHED.add(code)
    return body


def order(partner, symbol, quantity="1", wallet=None, network="anvil"):
    return {"symbol": symbol, "network": network, "quantity": quantity,
            "wallet_address": wallet or partner.wallet.address}


def test_authentication_and_scope_problems(alice):
    expect(PartnerClient("", alice.id).get("/api/v1/wallets"), 401, "authentication_required")
    expect(PartnerClient("slk_nope_nope", alice.id).get("/api/v1/wallets"), 401, "invalid_api_key")
    expect(client_for(alice.id, ["read"]).post("/api/v1/wallets", {}), 403, "insufficient_scope")
    revoked = client_for(alice.id, ["read"])
    keys.revoke_api_key(revoked.token.split("_")[1], actor=OPS)
    expect(revoked.get("/api/v1/wallets"), 401, "api_key_revoked")
    expired = client_for(alice.id, ["read"])
    ApiKey.objects.filter(prefix=expired.token.split("_")[1]).update(expires_at=timezone.now())
    expect(expired.get("/api/v1/wallets"), 401, "api_key_expired")


def test_too_many_requests_with_one_key_is_429_with_retry_after(alice, settings):
    settings.API_RATE_LIMIT = "3/min"
    statuses = [alice.api.get("/api/v1/wallets").status for _ in range(3)]
    assert statuses == [200, 200, 200]
    response = alice.api.get("/api/v1/wallets")
    expect(response, 429, "rate_limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert client_for(alice.id).get("/api/v1/wallets").status == 200  # the limit is per key


def test_a_spoofed_x_forwarded_for_does_not_escape_the_public_rate_limit(db, settings, unique):
    settings.API_RATE_LIMIT = "3/hour"
    anonymous = Client(REMOTE_ADDR=f"2001:db8::{unique[:4]}:{unique[4:8]}")  # a counter of its own
    statuses = [anonymous.get("/api/v1/proof-of-reserves/NOPEx", headers={"X-Forwarded-For": f"203.0.113.{n}"})
                .status_code for n in range(4)]
    assert statuses[:3] == [404, 404, 404] and statuses[3] == 429


def test_request_shape_problems(alice):
    expect(alice.api.get("/api/v1/no-such-thing"), 404, "not_found")
    for elsewhere in ("/api/", "/api/v2/wallets", "/api/schema/x"):  # under /api/ but outside /api/v1/
        expect(alice.api.get(elsewhere), 404, "not_found")
    expect(alice.api.get("/api/v1/wallets/123456789"), 404, "not_found")
    expect(alice.api._wrap(alice.api.client.put("/api/v1/wallets", "{}", content_type="application/json",
                                                headers=alice.api._headers("k-12345678", None))),
           405, "method_not_allowed")
    expect(alice.api._wrap(alice.api.client.post("/api/v1/wallets", "network=anvil", content_type="text/plain",
                                                 headers=alice.api._headers("k-12345678", None))),
           415, "unsupported_media_type")
    expect(alice.api.post("/api/v1/wallets", raw=b"{not json"), 400, "malformed_request")
    expect(alice.api.post("/api/v1/wallets", raw=b'{"network": NaN}'), 400, "malformed_request")
    expect(alice.api.post("/api/v1/webhook-endpoints", {"url": "https://a.example/h", "description": "a\u0000b"}),
           400, "invalid_payload")
    expect(alice.api._wrap(alice.api.client.delete("/api/v1/webhook-endpoints/1", "x", content_type="text/plain",
                                                   headers=alice.api._headers("k-12345679", None))),
           415, "unsupported_media_type")
    expect(alice.api.post("/api/v1/wallets", {}, idempotency_key=None), 400, "idempotency_key_required")
    expect(alice.api.post("/api/v1/wallets", {}, idempotency_key="no spaces allowed"), 400, "invalid_idempotency_key")
    alice.api.post("/api/v1/webhook-endpoints", {"url": "https://a.example/1"}, idempotency_key="same-key-1")
    expect(alice.api.post("/api/v1/webhook-endpoints", {"url": "https://a.example/2"}, idempotency_key="same-key-1"),
           409, "idempotency_conflict")
    expect(alice.api.get("/api/v1/wallets", {"limit": "0"}), 400, "invalid_query")
    for not_ascii in ("²", "١٢", "５"):  # Unicode digits: isdigit() says yes, int() says no (or reads them)
        expect(alice.api.get("/api/v1/wallets", {"limit": not_ascii}), 400, "invalid_query")
        expect(alice.api.get("/api/v1/entitlements", {"limit": not_ascii}), 400, "invalid_query")
    expect(alice.api.get("/api/v1/wallets", {"ordering": "address"}), 400, "invalid_query")
    expect(alice.api.get("/api/v1/wallets", {"cursor": "bm90LWEtY3Vyc29y"}), 400, "invalid_cursor")
    bad_filter = expect(alice.api.get("/api/v1/wallets", {"created_after": "yesterday"}), 400, "validation_error")
    assert bad_filter["errors"][0]["field"] == "created_after"
    expect(alice.api.get("/api/v1/wallets", {"status": "lost"}), 400, "validation_error")
    typo = expect(alice.api.get("/api/v1/wallets", {"stauts": "allowlisted"}), 400, "unknown_parameter")
    assert "stauts" in typo["detail"]
    expect(alice.api.get("/api/v1/instruments/AAPL", {"limit": "5"}), 400, "unknown_parameter")


def test_a_body_nested_too_deep_is_400_malformed_request_and_the_process_survives(subprocess_env, unique):
    """Run in a child process: with py_ecc's recursion limit of 100000, the C JSON decoder overflows the C
    stack on such a body and the process dies with SIGSEGV, which would take pytest with it."""
    partner = onboard(unique, "deep", make_instrument(unique, prefix="D").symbol)
    code = f"""
import json, sys, django
django.setup()
import py_ecc  # noqa: F401 (raises the recursion limit, as in production)
from django.db import connection, transaction
from django.test import Client
from django.test.utils import setup_test_environment
assert sys.getrecursionlimit() >= 100000
setup_test_environment()
body = b'{{"url": ' + b'[' * 32000 + b']' * 32000 + b'}}'  # deep, yet within API_MAX_BODY_BYTES
response = Client().post("/api/v1/webhook-endpoints", body, content_type="application/json",
                         headers={{"Authorization": "Bearer {partner.api.token}", "Idempotency-Key": "deep-{unique}"}})
print(json.dumps([response.status_code, json.loads(response.content)["code"]]))
"""
    result = run_python(code, subprocess_env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.splitlines()[-1]) == [400, "malformed_request"]
    REACHED.add("malformed_request")


def test_a_body_over_the_size_limit_is_413_and_nothing_is_recorded(alice, settings):
    settings.API_MAX_BODY_BYTES = 200
    head = store.head_position()
    too_large = alice.api.post("/api/v1/webhook-endpoints", {"url": "https://a.example/h", "description": "x" * 200})
    assert "200 bytes" in expect(too_large, 413, "body_too_large")["detail"]
    assert store.head_position() == head
    assert alice.api.post("/api/v1/webhook-endpoints", {"url": "https://a.example/h", "description": "x"}).status == 201


def test_a_body_nested_a_few_levels_or_with_brackets_in_strings_is_still_parsed(alice):
    shallow = "[" * 60 + "]" * 60
    response = alice.api.post("/api/v1/webhook-endpoints", raw=f'{{"url": {shallow}}}'.encode())
    assert expect(response, 400, "validation_error")["errors"][0]["field"] == "url"
    in_text = alice.api.post("/api/v1/webhook-endpoints", {"url": "https://a.example/h", "description": "[" * 100})
    assert in_text.status == 201


def test_an_unterminated_string_full_of_escaped_quotes_is_refused_in_linear_time(alice):
    body = b'{"url": "' + b'\\"' * 30000  # each quote could start a string scan to the end: quadratic
    started = time.monotonic()
    expect(alice.api.post("/api/v1/webhook-endpoints", raw=body), 400, "malformed_request")
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("number", ["1e999999999", "-1e999999999", "1e-999999999", "1" * 100, "1e41", "1.5e-41"])
def test_a_number_too_large_or_too_fine_anywhere_in_the_body_is_400_not_500(alice, number):
    body = f'{{"network": "anvil", "address": "{alice.wallet.address}", "label": {number}}}'.encode()
    expect(alice.api.post("/api/v1/wallets", raw=body), 400, "malformed_request")


def test_field_validation_names_each_field_and_its_code(alice, token):
    symbol = token.instrument.symbol
    lower = alice.wallet.address.lower()
    mixed_wrong = "0x" + "".join(c.upper() if c.islower() else c.lower() for c in alice.wallet.address[2:])
    cases = [
        (order(alice, symbol, quantity=1), "invalid_quantity", "quantity"),  # a JSON number, not a string
        (order(alice, symbol, quantity="0"), "invalid_quantity", "quantity"),
        (order(alice, symbol, quantity="-1"), "invalid_quantity", "quantity"),
        (order(alice, symbol, quantity="1e3"), "invalid_quantity", "quantity"),
        (order(alice, symbol, quantity="0.0000001"), "invalid_quantity", "quantity"),  # token has 6 decimals
        (order(alice, symbol, wallet=mixed_wrong), "invalid_address", "wallet_address"),
        (order(alice, symbol, wallet="0x1234"), "invalid_address", "wallet_address"),
        (order(alice, symbol, wallet="0x" + "0" * 40), "invalid_address", "wallet_address"),
        (order(alice, "NOPE"), "unknown_symbol", "symbol"),
        (order(alice, symbol, network="solana"), "unknown_network", "network"),
    ]
    for body, code, field in cases:
        problem = expect(alice.api.post("/api/v1/mint-requests", body), 400, code)
        assert [(e["field"], e["code"]) for e in problem["errors"]] == [(field, code)], problem
    several = expect(alice.api.post("/api/v1/mint-requests", {"symbol": "NOPE", "quantity": "x"}), 400,
                     "validation_error")
    assert {e["field"] for e in several["errors"]} == {"symbol", "quantity", "network", "wallet_address"}
    # A lower-case address carries no checksum: accepted and returned checksummed.
    created = alice.api.post("/api/v1/mint-requests", order(alice, symbol, wallet=lower))
    assert created.status == 201 and created.json()["wallet_address"] == alice.wallet.address


def test_a_field_the_request_does_not_define_is_refused_by_name_not_ignored(alice, token):
    symbol = token.instrument.symbol
    filing = {"symbol": symbol, "network": "anvil", "tx_hash": "0x" + secrets.token_hex(32), "qty": "12"}
    typo = expect(alice.api.post("/api/v1/redeem-requests", filing), 400, "unknown_field")
    assert [(e["field"], e["code"]) for e in typo["errors"]] == [("qty", "unknown_field")]
    several = expect(alice.api.post("/api/v1/wallets", {"network": "anvil", "address": alice.wallet.address,
                                                        "lable": "x", "owner": "bob"}), 400, "unknown_field")
    assert [e["field"] for e in several["errors"]] == ["lable", "owner"]
    expect(alice.api.post("/api/v1/mint-requests", {**order(alice, symbol), "wallet": "0x1"}), 400, "unknown_field")
    expect(alice.api.post("/api/v1/webhook-endpoints", {"url": "https://a.example/h", "secret": "x"}), 400,
           "unknown_field")
    mint = alice.api.post("/api/v1/mint-requests", order(alice, symbol)).json()
    expect(alice.api.post(f"/api/v1/mint-requests/{mint['id']}/cancel", {"reason": "x", "force": True}), 400,
           "unknown_field")
    assert alice.api.get(f"/api/v1/mint-requests/{mint['id']}").json()["status"] != "cancelled"


def test_business_refusals_of_a_mint_each_have_their_code(db, chain, unique, token):
    symbol = token.instrument.symbol
    alice = onboard(unique, "capped", symbol, per_request_cap="10")
    expect(alice.api.post("/api/v1/mint-requests", order(alice, symbol, "11")), 422, "cap_exceeded")
    stranger = Account.create().address
    expect(alice.api.post("/api/v1/mint-requests", order(alice, symbol, wallet=stranger)), 403, "wallet_not_allowlisted")
    other = make_instrument(unique[::-1], prefix="B")
    deploy_token(other.symbol, "anvil", actor=OPS, decimals=6)
    expect(alice.api.post("/api/v1/mint-requests", order(alice, other.symbol)), 403, "instrument_not_allowed")
    undeployed = make_instrument(unique[3:] + unique[:3], prefix="C")
    body = expect(alice.api.post("/api/v1/mint-requests", order(alice, undeployed.symbol)), 409, "token_not_deployed")
    assert undeployed.symbol in body["detail"]
    create_partner(f"pending-{unique}", "Pending Ltd", actor=OPS, allowed_symbols=[symbol])
    pending = client_for(f"pending-{unique}")
    expect(pending.post("/api/v1/mint-requests", order(alice, symbol)), 403, "kyc_not_approved")
    accepted = alice.api.post("/api/v1/mint-requests", order(alice, symbol, "2")).json()
    cancel = alice.api.post(f"/api/v1/mint-requests/{accepted['id']}/cancel", {"reason": "changed our mind"})
    assert cancel.status == 200 and cancel.json()["status"] == "cancelled"
    expect(alice.api.post(f"/api/v1/mint-requests/{accepted['id']}/cancel", {}), 409, "invalid_state")
    pause_instrument(symbol, actor=OPS, reason="corporate action")
    expect(alice.api.post("/api/v1/mint-requests", order(alice, symbol)), 409, "instrument_paused")


def test_wallet_and_webhook_refusals(alice, bob, settings):
    expect(bob.api.post("/api/v1/wallets", {"network": "anvil", "address": alice.wallet.address}), 409, "wallet_taken")
    expect(alice.api.post("/api/v1/wallets", {"network": "anvil", "address": "0xabc"}), 400, "invalid_address")
    expect(alice.api.post("/api/v1/webhook-endpoints", {"url": "ftp://a.example/h"}), 400, "invalid_webhook_url")
    settings.API_WEBHOOK_ALLOW_INSECURE = False
    expect(alice.api.post("/api/v1/webhook-endpoints", {"url": "http://a.example/h"}), 400, "invalid_webhook_url")
    expect(alice.api.post("/api/v1/webhook-endpoints", {"url": "https://127.0.0.1/h"}), 400, "invalid_webhook_url")
    settings.API_WEBHOOK_ALLOW_INSECURE = True
    settings.API_WEBHOOK_MAX_ENDPOINTS = 2
    for n in range(2):
        assert alice.api.post("/api/v1/webhook-endpoints", {"url": f"https://a.example/{n}"}).status == 201
    expect(alice.api.post("/api/v1/webhook-endpoints", {"url": "https://a.example/3"}), 409,
           "too_many_webhook_endpoints")


def test_redemption_refusals(alice, token, settings):
    filing = {"symbol": token.instrument.symbol, "network": "anvil", "tx_hash": "0x" + secrets.token_hex(32)}
    expect(alice.api.post("/api/v1/redeem-requests", {**filing, "tx_hash": "0x12"}), 400, "invalid_tx_hash")
    expect(alice.api.post("/api/v1/redeem-requests", {**filing, "release_method": "wire"}), 400, "validation_error")
    expect(alice.api.post("/api/v1/redeem-requests", filing), 422, "deposit_not_found")
    settings.CHAIN_NETWORKS = {"anvil": {**settings.CHAIN_NETWORKS["anvil"], "rpc_url": "http://127.0.0.1:9"}}
    expect(alice.api.post("/api/v1/redeem-requests", filing), 503, "chain_unavailable")


def test_refiling_a_deposit_with_another_release_method_is_409_and_the_first_method_stands(
        db, chain, token, unique, book_share_journal):  # noqa: F811
    alice = onboard(unique, "refiler", token.instrument.symbol, w3=chain.w3)
    filing = {"symbol": token.instrument.symbol, "network": "anvil",
              "tx_hash": deposit_from(alice, chain, token, book_share_journal)}
    first = alice.api.post("/api/v1/redeem-requests", filing)
    assert (first.status, first.json()["release_method"]) == (201, "journal")
    refused = expect(alice.api.post("/api/v1/redeem-requests", {**filing, "release_method": "sell"}), 409,
                     "redeem_already_filed")
    assert "'journal'" in refused["detail"]
    assert RedeemRequest.objects.get(id=first.json()["id"]).release_method == "journal"
    assert alice.api.post("/api/v1/redeem-requests", filing).json()["id"] == first.json()["id"]


def test_a_cancel_racing_with_a_change_to_the_mint_is_409_stale_expected_version(committed_db, chain, unique,
                                                                                 book_share_journal):  # noqa: F811
    instrument = make_instrument(unique, prefix="S")
    deploy_token(instrument.symbol, "anvil", actor=OPS, decimals=6)
    alice = onboard(unique, "stale", instrument.symbol)
    mint = alice.api.post("/api/v1/mint-requests", order(alice, instrument.symbol, "2")).json()
    book_share_journal(instrument.symbol, "2")
    secured, release = threading.Event(), threading.Event()

    def secure_and_hold():  # operations secure the shares; the commit waits until the cancel has read the mint
        try:
            with transaction.atomic():
                secure_shares(mint["id"], OPS, via="journal", reference=f"JNLS {unique}")
                secured.set()
                release.wait(120)
        finally:
            connection.close()

    def cancel():
        try:
            responses.append(alice.api.post(f"/api/v1/mint-requests/{mint['id']}/cancel", {}))
        finally:
            connection.close()

    responses = []
    operations, partner = threading.Thread(target=secure_and_hold), threading.Thread(target=cancel)
    operations.start()
    assert secured.wait(120)
    partner.start()
    wait_until_an_append_waits(partner)  # the cancel read the mint as approved and waits for the append lock
    release.set()
    operations.join(120)
    partner.join(120)
    expect(responses[0], 409, "stale_expected_version")
    assert alice.api.get(f"/api/v1/mint-requests/{mint['id']}").json()["status"] == "secured"


def test_proof_of_reserves_problems(client, token):
    public = PartnerClient("", "nobody")
    expect(public.get(f"/api/v1/proof-of-reserves/{token.token_symbol}"), 404, "no_reconciliation_yet")
    expect(public.get("/api/v1/proof-of-reserves/NOPEx"), 404, "unknown_token")


def test_every_problem_code_in_the_openapi_document_is_reached_by_these_tests(client):
    if len(REACHED) < 30:
        pytest.skip("compares with the codes the other tests of this module reached: run the whole module")
    schema = json.loads(client.get("/api/schema/", {"format": "json"}).content)
    documented = set()
    for operations in schema["paths"].values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                for example in response.get("content", {}).get("application/problem+json", {}).get("examples", {}).values():
                    documented.add(example["value"]["code"])
    assert documented - REACHED == set(), "documented but never reached"


def test_a_trailing_newline_does_not_sneak_past_a_pattern(alice, token):
    body = {"symbol": token.instrument.symbol, "network": "anvil", "quantity": "1",
            "wallet_address": alice.wallet.address + "\n"}
    assert alice.api.post("/api/v1/mint-requests", body).json()["code"] == "invalid_address"
    assert alice.api.post("/api/v1/mint-requests", {**body, "wallet_address": alice.wallet.address,
                                                    "quantity": "1\n"}).json()["code"] == "invalid_quantity"
