"""A partner reads the dividend entitlements of its own wallets, and only those."""
from __future__ import annotations

from eth_account import Account

from corporate_actions import services
from tests.corporate_actions.conftest import anvil, chain_env, issued, stablecoin, w3  # noqa: F401  (fixtures)

from .conftest import onboard
from .support import OPS


def test_a_partner_sees_its_wallets_entitlements_and_not_another_partners(issued, unique):  # noqa: F811
    alice = onboard(unique, "alice", issued.symbol)
    bob = onboard(unique, "bob", issued.symbol)
    outsider = Account.create().address
    issued.issue({alice.wallet.address: "4", bob.wallet.address: "2", outsider: "10"})
    # Anyone may register any address; until operations allowlist it, its entitlements stay private.
    claimed = alice.api.post("/api/v1/wallets", {"network": "anvil", "address": outsider})
    assert (claimed.status, claimed.json()["status"]) == (201, "registered")
    action = issued.announce_and_close_record_date("0.25")
    issued.receive_cash(action, "4.00")
    services.snapshot_holders(action.id, actor=OPS)
    services.create_dividend_run(action.id, actor=OPS)

    page = alice.api.get("/api/v1/entitlements").json()
    [mine] = page["results"]
    assert (mine["address"], mine["action_id"], mine["status"], mine["gross"]) == (
        alice.wallet.address, action.id, "awaiting_approval", "1")
    assert mine["tax"] == "0.3" and mine["net"] == "0.7"  # no tax form on file: 30 % withheld
    assert [e["address"] for e in bob.api.get("/api/v1/entitlements").json()["results"]] == [bob.wallet.address]
    assert alice.api.get("/api/v1/entitlements", {"status": "paid"}).json()["results"] == []
    assert len(alice.api.get("/api/v1/entitlements", {"symbol": issued.symbol, "kind": "dividend_airdrop",
                                                       "record_date_from": str(action.record_date)}).json()["results"]) == 1
    assert alice.api.get("/api/v1/entitlements", {"record_date_to": "2000-01-01"}).json()["results"] == []
    refused = alice.api.get("/api/v1/entitlements", {"status": "owed"})
    assert (refused.status, refused.json()["code"]) == (400, "validation_error")
