"""Lists page with signed cursors over creation time and filter by status, symbol, network and date."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

from django.utils import timezone


def walk(client, path, params) -> list[dict]:
    """Every item, following `next` links."""
    items, query = [], dict(params)
    while True:
        page = client.get(path, query).json()
        items += page["results"]
        if page["next"] is None:
            return items
        query = {**params, "cursor": parse_qs(urlparse(page["next"]).query)["cursor"][0]}


def mint(partner, token, quantity):
    return partner.api.post("/api/v1/mint-requests", {"symbol": token.instrument.symbol, "network": "anvil",
                                                      "quantity": quantity, "wallet_address": partner.wallet.address}).json()


def test_pages_cover_every_item_once_newest_first_or_oldest_first(alice):
    created = [alice.api.post("/api/v1/webhook-endpoints", {"url": f"https://a.example/{n}"}).json()["id"]
               for n in range(5)]
    newest_first = walk(alice.api, "/api/v1/webhook-endpoints", {"limit": "2"})
    assert [e["id"] for e in newest_first] == created[::-1]
    oldest_first = walk(alice.api, "/api/v1/webhook-endpoints", {"limit": "2", "ordering": "created_at"})
    assert [e["id"] for e in oldest_first] == created


def test_requests_made_in_one_instant_still_page_without_loss_or_repeats(alice, token):
    ids = {mint(alice, token, str(n))["id"] for n in range(1, 6)}
    assert {m["id"] for m in walk(alice.api, "/api/v1/mint-requests", {"limit": "2"})} == ids
    assert len(walk(alice.api, "/api/v1/mint-requests", {"limit": "2"})) == 5


def test_filters_by_status_symbol_network_and_creation_time(alice, token):
    kept = mint(alice, token, "1")
    cancelled = mint(alice, token, "2")
    alice.api.post(f"/api/v1/mint-requests/{cancelled['id']}/cancel", {})
    listing = lambda **params: [m["id"] for m in walk(alice.api, "/api/v1/mint-requests", params)]  # noqa: E731
    assert listing(status="cancelled") == [cancelled["id"]]
    assert listing(status="approved") == [kept["id"]]
    assert set(listing(symbol=token.instrument.symbol)) == {kept["id"], cancelled["id"]}
    assert listing(symbol="OTHER") == []
    assert listing(network="elsewhere") == []
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    earlier = (timezone.now() - timedelta(minutes=1)).isoformat()
    assert listing(created_after=later) == []
    assert set(listing(created_after=earlier, created_before=later)) == {kept["id"], cancelled["id"]}
    assert listing(created_before=earlier) == []


def test_a_cursor_cannot_be_forged(alice):
    for n in range(3):
        alice.api.post("/api/v1/webhook-endpoints", {"url": f"https://a.example/{n}"})
    page = alice.api.get("/api/v1/webhook-endpoints", {"limit": "1"}).json()
    cursor = parse_qs(urlparse(page["next"]).query)["cursor"][0]
    assert alice.api.get("/api/v1/webhook-endpoints", {"limit": "1", "cursor": cursor}).status == 200
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    response = alice.api.get("/api/v1/webhook-endpoints", {"cursor": tampered})
    assert (response.status, response.json()["code"]) == (400, "invalid_cursor")
