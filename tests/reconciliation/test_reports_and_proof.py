"""What a run leaves behind for people and machines: JSON, CSV and HTML reports, and the public proof of reserves."""
from __future__ import annotations

import csv
import io
import json
import pytest

from ledger import store
from ledger.canonical import GENESIS_HASH, sha256_hex
from reconciliation import services
from reconciliation.errors import NoReconciliationYet, UnknownToken

from .conftest import NETWORK

pytestmark = pytest.mark.django_db


def test_the_json_report_carries_every_number_the_run_compared(backed_token):
    backed_token.mint_bypassing_the_system(4)
    result = services.run_reconciliation([backed_token.symbol])

    report = json.loads(services.render_json(result.run_id))

    assert report["run"]["run_id"] == result.run_id and report["run"]["events_sha256"] == result.events_sha256
    (row,) = report["instruments"]
    assert (row["symbol"], row["status"], row["shares_in_custody"], row["tokens_outstanding"], row["difference"]) == (
        backed_token.symbol, "breaks", "100", "104", "-4")
    assert (row["ledger_custody"], row["ledger_supply"]) == ("100", "100")
    assert row["supply_by_network"][NETWORK]["shares"] == "104"
    assert row["supply_by_network"][NETWORK]["base_units"] == {backed_token.deployment.id: str(104 * 10**18)}
    assert {b["kind"]: (b["amount"], b["status_now"]) for b in report["breaks"]} == {
        "unbacked_supply": ("4", "open"), "unknown_mint": ("4", "open")}
    assert {s["source"] for s in report["sources"]} >= {"ledger", f"chain:{NETWORK}", f"custody:{backed_token.account.name}"}


def test_the_csv_report_has_one_line_per_instrument_with_supply_per_network(backed_token):
    result = services.run_reconciliation([backed_token.symbol])

    (row,) = list(csv.DictReader(io.StringIO(services.render_csv(result.run_id))))

    assert row["symbol"] == backed_token.symbol and row["status"] == "clean"
    assert (row["shares_in_custody"], row[f"supply_{NETWORK}"], row["difference"]) == ("100", "100", "0")
    assert row["explanation"] == "shares in custody equal tokens outstanding"


def test_the_html_report_is_readable_by_a_person(backed_token):
    backed_token.broker.adjust_position(backed_token.symbol, "-1")
    result = services.run_reconciliation([backed_token.symbol])

    page = services.render_html(result.run_id)

    assert f"Reconciliation run {result.run_id}" in page and backed_token.symbol in page
    assert "ledger_drift" in page and "unbacked_supply" in page and result.events_sha256 in page


def test_the_proof_of_reserves_shows_backing_and_can_be_checked_against_the_ledger_events(backed_token):
    result = services.run_reconciliation([backed_token.symbol])

    proof = services.proof_of_reserves(backed_token.deployment.token_symbol)

    assert (proof["instrument"], proof["shares_held"], proof["tokens_outstanding_in_shares"]) == (
        backed_token.symbol, "100", "100")
    assert proof["backing_ratio"] == "1" and proof["run_id"] == result.run_id and proof["status"] == "clean"
    (network,) = proof["supply_by_network"]
    assert network["network"] == NETWORK and network["tokens_outstanding"] == "100"
    assert network["tokens"][0]["contract_address"] == backed_token.deployment.contract_address
    assert proof["as_of"] is not None
    folded = GENESIS_HASH
    for event in store.read_stream("reconciliation_run", proof["run_id"]):
        folded = sha256_hex(folded + event.hash)
    assert proof["run_events_sha256"] == folded


def test_an_under_backed_token_shows_a_backing_ratio_below_one(backed_token):
    backed_token.mint_bypassing_the_system(25)
    services.run_reconciliation([backed_token.symbol])

    proof = services.proof_of_reserves(backed_token.deployment.token_symbol)

    assert (proof["shares_held"], proof["tokens_outstanding_in_shares"], proof["backing_ratio"]) == ("100", "125", "0.8")
    assert proof["status"] == "breaks"


def test_no_proof_before_a_run_has_checked_the_token_and_none_for_unknown_tokens(backed_token):
    with pytest.raises(NoReconciliationYet):
        services.proof_of_reserves(backed_token.deployment.token_symbol)
    with pytest.raises(UnknownToken):
        services.proof_of_reserves("NOPEx")
