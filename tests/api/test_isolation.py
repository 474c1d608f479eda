"""A partner sees and acts only on its own objects; another partner's object is 404, exactly like one that
does not exist, so the answer never confirms it exists."""
from __future__ import annotations

import pytest

from api.models import WebhookEndpoint


def mint(partner, token, quantity="1"):
    response = partner.api.post("/api/v1/mint-requests", {"symbol": token.instrument.symbol, "network": "anvil",
                                                          "quantity": quantity, "wallet_address": partner.wallet.address})
    assert response.status == 201, response.body
    return response.json()


def without_instance(response) -> dict:
    body = response.json()
    body.pop("instance")
    return body


def test_wallets_of_another_partner_are_invisible(alice, bob):
    alice_wallet = alice.api.get("/api/v1/wallets").json()["results"][0]
    assert [w["address"] for w in bob.api.get("/api/v1/wallets").json()["results"]] == [bob.wallet.address]
    foreign = bob.api.get(f"/api/v1/wallets/{alice_wallet['id']}")
    missing = bob.api.get("/api/v1/wallets/999999999")
    assert foreign.status == missing.status == 404
    assert without_instance(foreign) == without_instance(missing)
    assert alice.api.get(f"/api/v1/wallets/{alice_wallet['id']}").status == 200


def test_mint_requests_of_another_partner_cannot_be_listed_read_or_cancelled(alice, bob, token):
    theirs = mint(alice, token)
    mine = mint(bob, token)
    assert [m["id"] for m in bob.api.get("/api/v1/mint-requests").json()["results"]] == [mine["id"]]
    foreign = bob.api.get(f"/api/v1/mint-requests/{theirs['id']}")
    missing = bob.api.get("/api/v1/mint-requests/00000000-0000-0000-0000-000000000000")
    assert foreign.status == missing.status == 404
    assert without_instance(foreign) == without_instance(missing)
    cancel = bob.api.post(f"/api/v1/mint-requests/{theirs['id']}/cancel", {"reason": "mischief"})
    assert cancel.status == 404 and cancel.json()["code"] == "not_found"
    assert alice.api.get(f"/api/v1/mint-requests/{theirs['id']}").json()["status"] == "approved"


def test_registering_another_partners_wallet_is_refused_without_revealing_its_owner(alice, bob):
    response = bob.api.post("/api/v1/wallets", {"network": "anvil", "address": alice.wallet.address})
    assert response.status == 409
    body = response.json()
    assert body["code"] == "wallet_taken" and alice.id not in body["detail"]


@pytest.mark.parametrize("path", ["/api/v1/webhook-endpoints/{id}", "/api/v1/webhook-endpoints/{id}/deliveries"])
def test_webhook_endpoints_of_another_partner_are_404(alice, bob, path):
    created = alice.api.post("/api/v1/webhook-endpoints", {"url": "https://alice.example/hooks"}).json()
    assert bob.api.get(path.format(id=created["id"])).status == 404
    assert bob.api.get("/api/v1/webhook-endpoints").json()["results"] == []
    assert alice.api.get(path.format(id=created["id"])).status == 200


def test_disabling_another_partners_webhook_endpoint_is_404_and_changes_nothing(alice, bob):
    created = alice.api.post("/api/v1/webhook-endpoints", {"url": "https://alice.example/hooks"}).json()
    response = bob.api.delete(f"/api/v1/webhook-endpoints/{created['id']}")
    assert response.status == 404
    assert WebhookEndpoint.objects.get(pk=created["id"]).active
