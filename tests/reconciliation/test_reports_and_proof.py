"""What a run leaves behind for people and machines: JSON, CSV, HTML and PDF reports, and the public proof of
reserves."""
from __future__ import annotations

import csv
import io
import json
import pytest
from pypdf import PdfReader

from ledger import store
from ledger.canonical import GENESIS_HASH, sha256_hex
from reconciliation import checks, pdf_report, reports, services
from reconciliation.errors import NoReconciliationYet, UnknownToken
from reconciliation.models import ReconciliationRun

from .conftest import NETWORK
from .test_journals_out import released_by_journal

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


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_pdf_report_carries_the_runs_figures_and_the_hash_of_its_events(backed_token):
    backed_token.mint_bypassing_the_system(4)
    result = services.run_reconciliation([backed_token.symbol])

    pdf = services.render_pdf(result.run_id)

    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert f"Reconciliation run {result.run_id}" in text and backed_token.symbol in text
    assert "unbacked_supply" in text and "unknown_mint" in text and result.events_sha256 in text
    instruments = [line.strip() for line in text[text.index("Explanation\n"):].splitlines()]
    # symbol, status, custody, tokens outstanding, supply on the network, ledger custody and supply, in flight,
    # difference: the run's canonical strings in the columns of the HTML report
    assert instruments[1:11] == [backed_token.symbol, "breaks", "100", "104", "104", "100", "100", "0", "0", "-4"]
    metadata = PdfReader(io.BytesIO(pdf)).metadata
    assert (metadata.title, metadata.author) == (f"Reconciliation run {result.run_id}", "shareledger")


def test_the_same_run_renders_to_the_same_pdf_bytes(backed_token):
    result = services.run_reconciliation([backed_token.symbol])

    assert services.render_pdf(result.run_id) == services.render_pdf(result.run_id)


def test_free_text_outside_helvetica_and_markup_characters_do_not_break_the_pdf(backed_token, monkeypatch):
    result = services.run_reconciliation([backed_token.symbol])
    report = reports.run_report(result.run_id)
    report["instruments"][0]["explanation"] = "custody → chain: café <b>&</b> 株式"
    report["sources"][0]["detail"] = "broker said <timeout> & gave up"
    monkeypatch.setattr(pdf_report, "run_report", lambda run_id: report)

    text = pdf_text(services.render_pdf(result.run_id))

    assert "custody → chain: café <b>&</b>" in text and "broker said <timeout> & gave up" in text


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


def test_shares_leaving_by_journal_or_claimed_by_no_request_do_not_back_tokens_in_the_proof(backed_token):
    released_by_journal(backed_token, 10)  # released to the partner, not booked out of custody yet
    backed_token.broker.add_share_journal(backed_token.symbol, "5", description="nobody's")  # no request claims it
    result = services.run_reconciliation([backed_token.symbol])  # its sync books the journal in

    proof = services.proof_of_reserves(backed_token.deployment.token_symbol)

    assert (proof["shares_held"], proof["tokens_outstanding_in_shares"], proof["backing_ratio"]) == ("105", "90", "1")
    assert (proof["shares_owed_back"], proof["shares_leaving"], proof["shares_unclaimed"], proof["shares_free"]) == (
        "0", "10", "5", "90")
    assert proof["run_id"] == result.run_id and proof["status"] == "breaks"  # the 5 unclaimed: excess custody


def test_a_run_that_did_not_record_the_free_shares_shows_no_backing_ratio_rather_than_an_inflated_one(
        backed_token, monkeypatch):
    recorded_by_the_new_code = checks._Check.verdict

    def verdict_of_an_earlier_version(self, *args):
        verdict = recorded_by_the_new_code(self, *args)
        del verdict.payload["not_ours"], verdict.payload["shares_free"]
        return verdict

    monkeypatch.setattr(checks._Check, "verdict", verdict_of_an_earlier_version)
    services.run_reconciliation([backed_token.symbol])

    proof = services.proof_of_reserves(backed_token.deployment.token_symbol)

    assert (proof["shares_held"], proof["shares_free"], proof["shares_owed_back"], proof["backing_ratio"]) == (
        "100", None, None, None)


def test_a_run_as_of_a_past_time_does_not_take_the_proof_of_reserves_back_in_time(backed_token):
    earlier = services.run_reconciliation([backed_token.symbol])
    backed_token.mint_through_issuance("10")
    latest = services.run_reconciliation([backed_token.symbol])
    then = ReconciliationRun.objects.get(run_id=earlier.run_id).finished_at

    services.run_reconciliation([backed_token.symbol], as_of=then)

    proof = services.proof_of_reserves(backed_token.deployment.token_symbol)
    assert (proof["run_id"], proof["tokens_outstanding_in_shares"], proof["shares_held"]) == (
        latest.run_id, "110", "110")


def test_no_proof_before_a_run_has_checked_the_token_and_none_for_unknown_tokens(backed_token):
    with pytest.raises(NoReconciliationYet):
        services.proof_of_reserves(backed_token.deployment.token_symbol)
    with pytest.raises(UnknownToken):
        services.proof_of_reserves("NOPEx")
