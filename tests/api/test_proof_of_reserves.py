"""Proof of reserves per token is public: no key, the latest reconciliation's figures and how to check them."""
from __future__ import annotations

from django.test import Client

from issuance import services as issuance
from issuance.models import RedeemRequest
from reconciliation import services as reconciliation
from tests.issuance.support import transfer_tokens
from tests.reconciliation.conftest import TOKEN
from tests.reconciliation.conftest import (  # noqa: F401  (fixtures)
    aggregator,
    backed_token,
    broker,
    fast_broker_retries,
    keys,
    recon_anvil,
    recon_sandbox,
    w3,
)


def test_anyone_can_read_the_proof_of_reserves_of_a_token_without_a_key(backed_token):  # noqa: F811
    token_symbol = backed_token.deployment.token_symbol
    public = Client()
    before = public.get(f"/api/v1/proof-of-reserves/{token_symbol}")
    assert (before.status_code, before.json()["code"]) == (404, "no_reconciliation_yet")
    run = reconciliation.run_reconciliation([backed_token.symbol])
    response = public.get(f"/api/v1/proof-of-reserves/{token_symbol}")
    print(response.content)
    assert response.status_code == 200
    proof = response.json()
    assert (proof["token_symbol"], proof["shares_held"], proof["tokens_outstanding_in_shares"]) == (
        token_symbol, "100", "100")
    assert proof["backing_ratio"] == "1" and proof["status"] == "clean" and proof["run_id"] == run.run_id
    assert proof == reconciliation.proof_of_reserves(token_symbol)
    unknown = public.get("/api/v1/proof-of-reserves/NOPEx")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_token")


def test_shares_owed_back_for_burned_tokens_do_not_count_as_backing(backed_token):  # noqa: F811
    """The partner sends 10 tokens back and they are burned; until their shares are released, custody still
    holds them, but they are the partner's: 90 free shares back 90 tokens, not 100."""
    token_symbol = backed_token.deployment.token_symbol
    deposit = transfer_tokens(backed_token.w3, backed_token.keys.partner_wallet, backed_token.deployment.contract_address,
                              backed_token.keys.redemption_wallet.address, 10 * TOKEN)
    issuance.watch_chains()
    redeem = RedeemRequest.objects.get(deposit_tx_hash=deposit)
    assert issuance.process_redeem(redeem.id).status == RedeemRequest.Status.BURNED
    run = reconciliation.run_reconciliation([backed_token.symbol])
    assert run.clean

    proof = Client().get(f"/api/v1/proof-of-reserves/{token_symbol}").json()

    assert (proof["shares_held"], proof["tokens_outstanding_in_shares"], proof["backing_ratio"]) == ("100", "90", "1")
    assert (proof["shares_owed_back"], proof["shares_leaving"], proof["shares_unclaimed"], proof["shares_free"]) == (
        "10", "0", "0", "90")
