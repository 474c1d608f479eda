"""Bearer keys: scoped, expiring, rotatable, revocable, stored only as a hash, and every change on the ledger."""
from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from api import keys
from api.errors import ApiKeyStateConflict, InvalidScopes
from api.models import ApiKey
from ledger import store

from .support import OPS, PartnerClient, client_for


def problem(response) -> dict:
    assert response.headers["Content-Type"] == "application/problem+json", response.body
    return response.json()


def test_a_request_without_a_key_is_401_and_says_how_to_authenticate(alice):
    anonymous = PartnerClient("", alice.id)
    response = anonymous.get("/api/v1/wallets")
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert problem(response)["code"] == "authentication_required"


@pytest.mark.parametrize("token", ["not-a-key", "slk_", "slk_abc", "slk_0000000000000000_wrong", "Basic xyz"])
def test_a_malformed_unknown_or_wrong_key_is_401_invalid_api_key(alice, token):
    response = PartnerClient(token, alice.id).get("/api/v1/wallets")
    assert response.status == 401
    assert problem(response)["code"] == "invalid_api_key"


def test_the_right_prefix_with_the_wrong_secret_is_refused(alice):
    prefix = alice.api.token.split("_")[1]
    response = PartnerClient(f"slk_{prefix}_{'x' * 43}", alice.id).get("/api/v1/wallets")
    assert problem(response)["code"] == "invalid_api_key"


def test_the_secret_is_stored_only_as_its_hash_and_never_reaches_the_ledger(alice):
    issued = keys.create_api_key(alice.id, scopes=["read"], actor=OPS)
    _, prefix, secret = issued.token.split("_", 2)
    row = ApiKey.objects.get(prefix=prefix)
    assert row.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str([field.value_from_object(row) for field in ApiKey._meta.fields])
    [created] = store.read_stream("api_key", prefix)
    assert created.event_type == "api_key_created" and created.metadata["actor"] == OPS
    assert created.payload["partner_id"] == alice.id and created.payload["scopes"] == ["read"]
    assert secret not in str(created.payload) and row.secret_sha256 not in str(created.payload)


def test_a_key_without_the_scope_is_403_insufficient_scope(alice, instrument):
    reader = client_for(alice.id, scopes=["read"])
    assert reader.get("/api/v1/mint-requests").status == 200
    response = reader.post("/api/v1/mint-requests", {"symbol": instrument.symbol, "network": "anvil",
                                                     "quantity": "1", "wallet_address": alice.wallet.address})
    assert response.status == 403
    assert problem(response)["code"] == "insufficient_scope"
    minter = client_for(alice.id, scopes=["mint"])
    assert problem(minter.get("/api/v1/mint-requests"))["code"] == "insufficient_scope"


def test_a_revoked_key_stops_working_at_once_and_the_revocation_is_an_event(alice):
    prefix = alice.api.token.split("_")[1]
    assert alice.api.get("/api/v1/wallets").status == 200
    keys.revoke_api_key(prefix, actor=OPS, reason="leaked in a log")
    response = alice.api.get("/api/v1/wallets")
    assert response.status == 401 and problem(response)["code"] == "api_key_revoked"
    assert [e.event_type for e in store.read_stream("api_key", prefix)] == ["api_key_created", "api_key_revoked"]
    with pytest.raises(ApiKeyStateConflict):
        keys.revoke_api_key(prefix, actor=OPS)


def test_an_expired_key_is_401_api_key_expired(alice):
    issued = keys.create_api_key(alice.id, scopes=["read"], actor=OPS, expires_at=timezone.now() + timedelta(hours=1))
    client = PartnerClient(issued.token, alice.id)
    assert client.get("/api/v1/wallets").status == 200
    ApiKey.objects.filter(pk=issued.api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert problem(client.get("/api/v1/wallets"))["code"] == "api_key_expired"


def test_rotation_gives_a_new_key_and_the_old_one_works_until_the_grace_period_ends(alice):
    old_prefix = alice.api.token.split("_")[1]
    issued = keys.rotate_api_key(old_prefix, actor=OPS, grace=timedelta(minutes=5))
    new = PartnerClient(issued.token, alice.id)
    assert new.get("/api/v1/wallets").status == 200
    assert alice.api.get("/api/v1/wallets").status == 200  # still in its grace period
    assert issued.api_key.rotated_from.prefix == old_prefix
    assert issued.api_key.scopes == ["mint", "read", "redeem"]
    ApiKey.objects.filter(prefix=old_prefix).update(expires_at=timezone.now())
    assert problem(alice.api.get("/api/v1/wallets"))["code"] == "api_key_expired"
    assert [e.event_type for e in store.read_stream("api_key", old_prefix)] == ["api_key_created", "api_key_rotated"]
    [created] = store.read_stream("api_key", issued.api_key.prefix)
    assert created.payload["rotated_from"] == old_prefix
    with pytest.raises(ApiKeyStateConflict):
        keys.rotate_api_key(old_prefix, actor=OPS)


def test_scopes_outside_read_mint_redeem_are_refused(alice):
    with pytest.raises(InvalidScopes):
        keys.create_api_key(alice.id, scopes=["admin"], actor=OPS)
    with pytest.raises(InvalidScopes):
        keys.create_api_key(alice.id, scopes=[], actor=OPS)


def test_last_use_is_recorded_for_operations(alice):
    prefix = alice.api.token.split("_")[1]
    assert ApiKey.objects.get(prefix=prefix).last_used_at is None
    alice.api.get("/api/v1/wallets")
    assert ApiKey.objects.get(prefix=prefix).last_used_at is not None
