"""A partner files the transfer of its tokens to the redemption wallet; the filing is verified on chain, is
idempotent per deposit, and only the partner sees it."""
from __future__ import annotations

import threading

from django.db import connection

from issuance import services as issuance
from issuance.models import RedeemRequest
from tests.issuance.conftest import book_share_journal  # noqa: F401  (fixture: custody's sync booking a JNLS)
from tests.issuance.support import transfer_tokens

from .conftest import onboard
from .support import OPS, make_instrument


def deposit_from(partner, chain, token, book_share_journal, quantity: str = "2") -> str:  # noqa: F811
    """Mint `quantity` tokens to the partner's wallet through the API and send them to the redemption wallet;
    returns the deposit's tx hash."""
    symbol = token.instrument.symbol
    minted = partner.api.post("/api/v1/mint-requests", {"symbol": symbol, "network": "anvil", "quantity": quantity,
                                                        "wallet_address": partner.wallet.address}).json()
    book_share_journal(symbol, quantity)
    issuance.secure_shares(minted["id"], OPS, via="journal", reference=f"JNLS {minted['id']}")
    assert issuance.process_mint(minted["id"]).status == "completed"
    return transfer_tokens(chain.w3, partner.wallet, token.contract_address, chain.redemption_wallet.address,
                           int(quantity) * 10**token.decimals)


def test_a_partner_redeems_tokens_it_sent_and_another_partner_cannot_see_the_redemption(
        db, chain, token, unique, book_share_journal):  # noqa: F811
    symbol = token.instrument.symbol
    alice = onboard(unique, "alice", symbol, w3=chain.w3)
    bob = onboard(unique, "bob", symbol)
    minted = alice.api.post("/api/v1/mint-requests", {"symbol": symbol, "network": "anvil", "quantity": "3",
                                                      "wallet_address": alice.wallet.address}).json()
    book_share_journal(symbol, "3")
    issuance.secure_shares(minted["id"], OPS, via="journal", reference="JNLS test")
    assert issuance.process_mint(minted["id"]).status == "completed"
    assert alice.api.get(f"/api/v1/mint-requests/{minted['id']}").json()["status"] == "completed"

    deposit = transfer_tokens(chain.w3, alice.wallet, token.contract_address, chain.redemption_wallet.address,
                              2 * 10**token.decimals)
    filing = {"symbol": symbol, "network": "anvil", "tx_hash": deposit, "quantity": "2"}
    filed = alice.api.post("/api/v1/redeem-requests", filing)
    assert filed.status == 201, filed.body
    redeem = filed.json()
    assert (redeem["status"], redeem["quantity"], redeem["from_address"]) == ("received", "2", alice.wallet.address)
    again = alice.api.post("/api/v1/redeem-requests", filing)  # another key, the same deposit
    assert again.json()["id"] == redeem["id"]
    wrong_quantity = alice.api.post("/api/v1/redeem-requests", {**filing, "quantity": "5"})
    assert (wrong_quantity.status, wrong_quantity.json()["code"]) == (400, "invalid_quantity")

    assert [r["id"] for r in alice.api.get("/api/v1/redeem-requests").json()["results"]] == [redeem["id"]]
    assert bob.api.get("/api/v1/redeem-requests").json()["results"] == []
    assert bob.api.get(f"/api/v1/redeem-requests/{redeem['id']}").status == 404
    stolen = bob.api.post("/api/v1/redeem-requests", filing)  # bob cannot claim alice's deposit
    assert (stolen.status, stolen.json()["code"]) == (403, "wallet_not_allowlisted")


def test_the_same_deposit_filed_twice_at_once_gives_both_filings_the_same_redemption(
        committed_db, chain, unique, book_share_journal):  # noqa: F811
    instrument = make_instrument(unique, prefix="Q")
    token = issuance.deploy_token(instrument.symbol, "anvil", actor=OPS, decimals=6)
    alice = onboard(unique, "twice", instrument.symbol, w3=chain.w3)
    filing = {"symbol": instrument.symbol, "network": "anvil",
              "tx_hash": deposit_from(alice, chain, token, book_share_journal)}
    barrier = threading.Barrier(2)
    responses = []

    def file():  # each with its own Idempotency-Key: two integrations racing, not one retrying
        try:
            barrier.wait()
            responses.append(alice.api.post("/api/v1/redeem-requests", filing))
        finally:
            connection.close()

    threads = [threading.Thread(target=file) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(r.status for r in responses) == [201, 201], [r.body for r in responses]
    assert responses[0].json()["id"] == responses[1].json()["id"]
    assert RedeemRequest.objects.filter(partner_id=alice.id).count() == 1
