"""Writes carry an Idempotency-Key: a retry replays the first answer, another body under the same key is a
409, a rejected request leaves nothing behind, and two requests racing with one key create one object.
Concurrent writes with different keys each get the answer they would get one after the other."""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from eth_account import Account

from api.models import WebhookEndpoint
from issuance.models import MintRequest
from partners.models import Wallet
from issuance.services import deploy_token, request_mint
from ledger import idempotency, store
from ledger.errors import InvalidEvent
from ledger.models import IdempotencyRecord

from .conftest import onboard
from .support import OPS, make_instrument


def order(partner, token, quantity="3"):
    return {"symbol": token.instrument.symbol, "network": "anvil", "quantity": quantity,
            "wallet_address": partner.wallet.address}


def test_a_retry_with_the_same_key_and_body_returns_the_first_response_and_creates_nothing(alice, token):
    first = alice.api.post("/api/v1/mint-requests", order(alice, token), idempotency_key="order-2026-0001")
    head = store.head_position()
    retry = alice.api.post("/api/v1/mint-requests", order(alice, token), idempotency_key="order-2026-0001")
    assert (retry.status, retry.body) == (first.status, first.body) == (201, first.body)
    assert first.headers["Idempotent-Replayed"] == "false" and retry.headers["Idempotent-Replayed"] == "true"
    assert store.head_position() == head
    assert MintRequest.objects.filter(partner_id=alice.id).count() == 1


def test_the_same_key_with_another_body_is_409_idempotency_conflict(alice, token):
    alice.api.post("/api/v1/mint-requests", order(alice, token, "3"), idempotency_key="order-2026-0002")
    response = alice.api.post("/api/v1/mint-requests", order(alice, token, "4"), idempotency_key="order-2026-0002")
    assert response.status == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert MintRequest.objects.filter(partner_id=alice.id).count() == 1


def test_keys_are_per_partner_so_two_partners_may_use_the_same_key(alice, bob, token):
    assert alice.api.post("/api/v1/mint-requests", order(alice, token), idempotency_key="shared-key-1").status == 201
    assert bob.api.post("/api/v1/mint-requests", order(bob, token), idempotency_key="shared-key-1").status == 201


def test_a_body_written_differently_but_meaning_the_same_is_the_same_request(alice):
    raw_a = b'{"url": "https://alice.example/hooks", "description": "prod"}'
    raw_b = b'{"description":"prod","url":"https://alice.example/hooks"}'
    first = alice.api.post("/api/v1/webhook-endpoints", raw=raw_a, idempotency_key="endpoint-0001")
    second = alice.api.post("/api/v1/webhook-endpoints", raw=raw_b, idempotency_key="endpoint-0001")
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json() == {name: value for name, value in first.json().items() if name != "secret"}  # shown once


def test_a_write_without_the_header_is_400_and_a_malformed_key_too(alice):
    missing = alice.api.post("/api/v1/webhook-endpoints", {"url": "https://a.example/h"}, idempotency_key=None)
    assert (missing.status, missing.json()["code"]) == (400, "idempotency_key_required")
    short = alice.api.post("/api/v1/webhook-endpoints", {"url": "https://a.example/h"}, idempotency_key="abc")
    assert (short.status, short.json()["code"]) == (400, "invalid_idempotency_key")
    assert not WebhookEndpoint.objects.filter(partner_id=alice.id).exists()


def test_a_rejected_request_persists_nothing_and_the_key_stays_usable(alice, token):
    head = store.head_position()
    too_fine = alice.api.post("/api/v1/mint-requests", order(alice, token, "1.1234567"), idempotency_key="order-0003")
    assert (too_fine.status, too_fine.json()["code"]) == (400, "invalid_quantity")
    assert store.head_position() == head
    assert not IdempotencyRecord.objects.filter(scope=f"api:{alice.id}", key="order-0003").exists()
    fixed = alice.api.post("/api/v1/mint-requests", order(alice, token, "1.5"), idempotency_key="order-0003")
    assert fixed.status == 201


def test_a_partner_key_shaped_like_an_itn_key_neither_blocks_nor_reads_the_brokers_mint(alice, token):
    itn_key = f"itn:tok-req-{alice.id}"
    mine = alice.api.post("/api/v1/mint-requests", order(alice, token, "2"), idempotency_key=itn_key)
    assert mine.status == 201
    # The broker's mint request with that id arrives afterwards (issuance.broker records it under itn:<id>).
    itn = request_mint(alice.id, token.instrument.symbol, "2", "anvil", alice.wallet.address, OPS,
                       idempotency_key=itn_key, source="itn", itn_request_id=f"tok-req-{alice.id}")
    assert itn.id != mine.json()["id"] and itn.itn_request_id == f"tok-req-{alice.id}"
    assert alice.api.post("/api/v1/mint-requests", order(alice, token, "2"),
                          idempotency_key=itn_key).json()["id"] == mine.json()["id"]


def test_two_requests_racing_with_one_key_create_one_mint_request(committed_db, chain, unique):
    instrument = make_instrument(unique, prefix="R")
    token = deploy_token(instrument.symbol, "anvil", actor=OPS, decimals=6)
    alice = onboard(unique, "racer", instrument.symbol)
    body = order(alice, token, "2")
    responses = at_once(*[lambda: alice.api.post("/api/v1/mint-requests", body, idempotency_key=f"race-{unique}")] * 2)
    assert sorted(r.status for r in responses) == [201, 201]
    assert responses[0].body == responses[1].body
    assert sorted(r.headers["Idempotent-Replayed"] for r in responses) == ["false", "true"]
    assert MintRequest.objects.filter(partner_id=alice.id).count() == 1


def test_fingerprinting_a_number_beyond_the_decimal_range_is_a_named_refusal_not_an_overflow():
    with pytest.raises(InvalidEvent) as refused:
        idempotency.fingerprint({"method": "POST", "body": {"label": Decimal("1e999999999")}})
    assert refused.value.code == "invalid_amount"


def at_once(*sends) -> list:
    """Run each send in its own thread, released together; their responses in completion order."""
    barrier = threading.Barrier(len(sends))
    responses = []

    def run(send):
        try:
            barrier.wait()
            responses.append(send())
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(send,)) for send in sends]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return responses


def test_one_partner_registering_two_wallets_at_once_gets_both(committed_db, unique):
    alice = onboard(unique, "wallets", make_instrument(unique, prefix="W").symbol)
    addresses = [Account.create().address for _ in range(2)]
    responses = at_once(*(lambda a=a: alice.api.post("/api/v1/wallets", {"network": "anvil", "address": a})
                          for a in addresses))
    assert [r.status for r in responses] == [201, 201], [r.body for r in responses]
    assert set(Wallet.objects.filter(partner_id=alice.id).values_list("address", flat=True)) >= set(addresses)


def test_two_partners_racing_for_one_address_one_gets_it_and_the_other_wallet_taken(committed_db, unique):
    symbol = make_instrument(unique, prefix="T").symbol
    racers = [onboard(unique, name, symbol) for name in ("first", "second")]
    address = Account.create().address
    responses = at_once(*(lambda p=p: p.api.post("/api/v1/wallets", {"network": "anvil", "address": address})
                          for p in racers))
    assert sorted((r.status, r.json().get("code")) for r in responses) == [(201, None), (409, "wallet_taken")]
    assert Wallet.objects.filter(network="anvil", address=address).count() == 1


def test_the_webhook_endpoint_cap_holds_under_concurrent_registrations(committed_db, unique, settings):
    settings.API_WEBHOOK_MAX_ENDPOINTS = 1
    alice = onboard(unique, "hooks", make_instrument(unique, prefix="H").symbol)
    responses = at_once(*(lambda n=n: alice.api.post("/api/v1/webhook-endpoints", {"url": f"https://a.example/{n}"})
                          for n in range(3)))
    assert sorted(r.status for r in responses) == [201, 409, 409], [r.body for r in responses]
    assert WebhookEndpoint.objects.filter(partner_id=alice.id, active=True).count() == 1
