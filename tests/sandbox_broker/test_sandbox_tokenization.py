"""The Instant Tokenization Network rail: an AP mints against shares journaled into custody, the issuer
confirms with the transaction hash, and redemptions journal the shares back."""
from __future__ import annotations

import pytest
import requests

WALLET = "0x1111111111111111111111111111111111111111"
MINT = {"underlying_symbol": "AAPL", "qty": "10", "issuer": "shareledger", "network": "ethereum",
        "wallet_address": WALLET}


@pytest.fixture
def ap_with_shares(broker):
    broker.set_position("AAPL", "25", account="ap")
    return broker.account("ap")


def held(client, symbol: str) -> str:
    return next((position.qty for position in client.get_all_positions() if position.symbol == symbol), "0")


def test_a_mint_journals_the_aps_shares_into_custody_and_waits_for_the_issuer(ap_with_shares, ap_session, custody,
                                                                             ap_client):
    answer = ap_session("POST", "/v2/tokenization/mint", json=MINT)

    assert answer.status_code == 200
    request = answer.json()
    assert (request["type"], request["status"], request["token_symbol"], request["qty"]) == (
        "mint", "pending", "AAPLx", "10")
    assert (held(custody, "AAPL"), held(ap_client, "AAPL")) == ("10", "15")
    custody_journal, = custody.get("/account/activities/JNLS")
    ap_journal, = ap_client.get("/account/activities/JNLS")
    assert (custody_journal["qty"], ap_journal["qty"]) == ("10", "-10")
    assert request["tokenization_request_id"] in custody_journal["description"]
    listed = ap_session("GET", "/v2/tokenization/requests", params={"status": "pending"}).json()
    assert [item["tokenization_request_id"] for item in listed] == [request["tokenization_request_id"]]


def test_the_issuer_confirms_a_mint_with_its_transaction_hash(ap_with_shares, ap_session, issuer_session, broker):
    request_id = ap_session("POST", "/v2/tokenization/mint", json=MINT).json()["tokenization_request_id"]
    custody_id = broker.account("custody")["id"]
    callback = {"tokenization_request_id": request_id, "client_id": ap_with_shares["external_account_id"],
                "wallet_address": WALLET, "tx_hash": "0xabc", "network": "ethereum"}

    confirmed = issuer_session("POST", f"/v1/accounts/{custody_id}/tokenization/callback/mint", json=callback)
    repeated = issuer_session("POST", f"/v1/accounts/{custody_id}/tokenization/callback/mint", json=callback)
    conflicting = issuer_session("POST", f"/v1/accounts/{custody_id}/tokenization/callback/mint",
                                 json={**callback, "tx_hash": "0xdef"})

    assert (confirmed.status_code, confirmed.json()["status"], confirmed.json()["tx_hash"]) == (200, "completed", "0xabc")
    assert repeated.json() == confirmed.json()
    assert conflicting.status_code == 400
    seen_by_ap = ap_session("GET", f"/v2/tokenization/requests/{request_id}").json()
    assert (seen_by_ap["status"], seen_by_ap["tx_hash"]) == ("completed", "0xabc")


def test_a_mint_beyond_the_aps_position_is_refused_and_moves_nothing(ap_with_shares, ap_session, custody):
    answer = ap_session("POST", "/v2/tokenization/mint", json={**MINT, "qty": "26"})

    assert answer.status_code == 400 and answer.json()["code"] == 40010000
    assert held(custody, "AAPL") == "0"


def test_a_mint_missing_fields_is_refused_with_alpacas_message(ap_session):
    answer = ap_session("POST", "/v2/tokenization/mint", json={"underlying_symbol": "AAPL", "qty": "1"})
    assert (answer.status_code, answer.json()) == (
        422, {"code": 42210001, "message": "issuer is required, network is required, wallet_address is required"})


def test_a_retried_mint_with_the_same_idempotency_key_journals_once(ap_with_shares, ap_session, custody):
    first = ap_session("POST", "/v2/tokenization/mint", json=MINT, headers={"Idempotency-Key": "mint-001"})
    again = ap_session("POST", "/v2/tokenization/mint", json=MINT, headers={"Idempotency-Key": "mint-001"})
    other_body = ap_session("POST", "/v2/tokenization/mint", json={**MINT, "qty": "2"},
                            headers={"Idempotency-Key": "mint-001"})

    assert again.json() == first.json()
    assert other_body.status_code == 422
    assert held(custody, "AAPL") == "10"


def test_a_redemption_journals_shares_from_custody_back_to_the_ap(ap_with_shares, issuer_session, broker, custody,
                                                                 ap_client):
    broker.set_position("AAPL", "40")
    custody_id = broker.account("custody")["id"]
    report = {"issuer_request_id": "redeem-0001", "underlying_symbol": "AAPL", "token_symbol": "AAPLx",
              "qty": "12", "network": "ethereum", "wallet_address": WALLET, "tx_hash": "0xburn",
              "client_id": ap_with_shares["external_account_id"]}

    answer = issuer_session("POST", f"/v1/accounts/{custody_id}/tokenization/callback/redeem", json=report)
    duplicate = issuer_session("POST", f"/v1/accounts/{custody_id}/tokenization/callback/redeem", json=report)

    assert answer.status_code == 200
    assert (answer.json()["type"], answer.json()["status"], answer.json()["issuer_request_id"]) == (
        "redeem", "completed", "redeem-0001")
    assert (held(custody, "AAPL"), held(ap_client, "AAPL")) == ("28", "37")
    assert duplicate.status_code == 422
    found = issuer_session("GET", f"/v1/accounts/{custody_id}/tokenization/requests:by_issuer_request_id",
                           params={"issuer_request_id": "redeem-0001"}).json()
    assert found["tokenization_request_id"] == answer.json()["tokenization_request_id"]


def test_the_issuer_cannot_call_back_on_another_accounts_path(ap_with_shares, issuer_session):
    answer = issuer_session("POST", f"/v1/accounts/{ap_with_shares['id']}/tokenization/callback/mint",
                            json={"tokenization_request_id": "x", "tx_hash": "0x1"})
    assert answer.status_code == 403


def test_callbacks_need_the_issuers_credentials(ap_with_shares, sandbox, broker):
    custody_id = broker.account("custody")["id"]
    answer = requests.post(f"{sandbox.base_url}/v1/accounts/{custody_id}/tokenization/callback/mint",
                           json={"tokenization_request_id": "x", "tx_hash": "0x1"}, auth=("PKSANDBOXCUSTODY", "wrong"),
                           timeout=5)
    assert (answer.status_code, answer.json()) == (401, {"code": 40110000, "message": "unauthorized"})
