"""Operations create, rotate and revoke partner keys in the admin; the key is shown once, and every change
is a ledger event naming the user."""
from __future__ import annotations

import re

from django.contrib.auth.models import User

from api.models import ApiKey
from ledger import store

from .support import PartnerClient


def test_an_operator_creates_a_key_in_the_admin_and_sees_it_once(alice, client):
    User.objects.create_superuser("ops-olivia", "olivia@example.com", "a-long-test-password")
    client.login(username="ops-olivia", password="a-long-test-password")
    page = client.post("/admin/api/apikey/create/", {"partner": alice.id, "scopes": ["read", "redeem"]})
    assert page.status_code == 200
    token = re.search(r'<pre id="api-key">(slk_[^<]+)</pre>', page.content.decode()).group(1)
    prefix = token.split("_")[1]
    assert ApiKey.objects.get(prefix=prefix).scopes == ["read", "redeem"]
    assert store.read_stream("api_key", prefix)[0].metadata["actor"] == "user:ops-olivia"
    assert PartnerClient(token, alice.id).get("/api/v1/wallets").status == 200
    listing = client.get("/admin/api/apikey/")
    assert prefix in listing.content.decode() and token not in listing.content.decode()

    client.post("/admin/api/apikey/", {"action": "revoke", "_selected_action": [ApiKey.objects.get(prefix=prefix).pk]})
    assert PartnerClient(token, alice.id).get("/api/v1/wallets").json()["code"] == "api_key_revoked"
    assert store.read_stream("api_key", prefix)[-1].metadata["actor"] == "user:ops-olivia"
