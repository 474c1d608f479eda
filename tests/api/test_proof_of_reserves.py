"""Proof of reserves per token is public: no key, the latest reconciliation's figures and how to check them."""
from __future__ import annotations

from django.test import Client

from reconciliation import services as reconciliation
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
