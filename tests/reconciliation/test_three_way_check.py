"""The nightly three-way check end to end on anvil and the sandbox broker: custody, on-chain supply, ledger."""
from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from decimal import Decimal

import pytest

from issuance import services as issuance
from issuance.models import MintRequest
from ledger import store
from ledger.canonical import GENESIS_HASH, sha256_hex
from ledger.models import Event
from reconciliation import services
from reconciliation.models import Break, InstrumentResult, ReconciliationRun

from tests.conftest import http_status_server

from .conftest import NETWORK, network_settings

pytestmark = pytest.mark.django_db


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def breaks_of(result) -> dict[str, tuple[str, Decimal, bool]]:
    return {outcome.found.kind: (outcome.found.severity, outcome.found.amount, outcome.new) for outcome in result.breaks}


def test_shares_at_the_broker_tokens_on_chain_and_the_ledger_agree_and_the_run_says_so(backed_token):
    result = services.run_reconciliation([backed_token.symbol], actor="user:alice")

    assert result.status == "completed" and result.clean
    (line,) = result.instruments
    assert (line.status, line.shares_in_custody, line.tokens_outstanding, line.difference) == (
        "clean", Decimal(100), Decimal(100), Decimal(0))
    events = store.read_stream("reconciliation_run", result.run_id)
    kinds = [e.event_type for e in events]
    assert kinds[0] == "run_started" and kinds[-2:] == ["instrument_reconciled", "run_completed"]
    assert set(kinds[1:-2]) == {"source_fetched"}
    sources = {e.payload["source"]: e.payload for e in events if e.event_type == "source_fetched"}
    chain = sources[f"chain:{NETWORK}"]
    assert chain["status"] == "ok" and chain["read_method"] == "aggregate3"
    assert chain["block_number"] >= backed_token.deployment.deploy_tx_block and len(chain["raw_sha256"]) == 64
    assert sources[f"custody:{backed_token.account.name}"]["status"] == "ok"
    assert sources["ledger"]["head_position"] > 0
    assert all(e.metadata["actor"] == "user:alice" for e in events)

    folded = GENESIS_HASH
    for event in events:
        folded = sha256_hex(folded + event.hash)
    run = ReconciliationRun.objects.get(run_id=result.run_id)
    assert run.events_sha256 == folded == result.events_sha256 and run.last_event_hash == events[-1].hash


def test_a_mint_straight_on_the_contract_is_unbacked_supply_and_an_unknown_mint_in_one_run(
        backed_token, settings, mailoutbox, django_capture_on_commit_callbacks):
    settings.RECONCILIATION_ALERT_EMAILS = ["ops@example.com"]
    backed_token.mint_bypassing_the_system(7)

    with django_capture_on_commit_callbacks(execute=True):
        result = services.run_reconciliation([backed_token.symbol])

    assert result.status == "completed" and not result.clean
    assert breaks_of(result) == {"unbacked_supply": ("critical", Decimal(7), True),
                                 "unknown_mint": ("critical", Decimal(7), True)}
    (line,) = result.instruments
    assert (line.status, line.shares_in_custody, line.tokens_outstanding) == ("breaks", Decimal(100), Decimal(107))
    opened = Break.objects.get(kind="unknown_mint", symbol=backed_token.symbol)
    assert (opened.status, opened.subject, opened.first_run_id) == ("open", f"chain:{NETWORK}", result.run_id)
    (mail,) = mailoutbox
    assert mail.to == ["ops@example.com"] and "2 new critical" in mail.subject and backed_token.symbol in mail.body


def test_shares_taken_out_at_the_broker_without_the_ledger_knowing_is_a_break(backed_token):
    backed_token.broker.adjust_position(backed_token.symbol, "-10")

    result = services.run_reconciliation([backed_token.symbol])

    assert breaks_of(result) == {"ledger_drift": ("critical", Decimal(10), True),
                                 "unbacked_supply": ("critical", Decimal(10), True)}
    drift = Break.objects.get(kind="ledger_drift", symbol=backed_token.symbol)
    assert drift.subject == f"custody:{backed_token.account.name}"
    assert "reports 90 shares" in drift.detail and "says 100" in drift.detail


def test_an_edited_balance_projection_cannot_hide_a_break(backed_token):
    """The ledger's side of the proof is summed from the hash-chained postings, not read from the balance
    projection, which any connection allowed to write could edit to match a broker that lost shares."""
    from django.db import connection

    backed_token.broker.adjust_position(backed_token.symbol, "-10")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_account_balance SET balance = balance - 10 WHERE account = %s",
                       [f"custody:{backed_token.account.name}:{backed_token.symbol}"])
        assert cursor.rowcount == 1

    result = services.run_reconciliation([backed_token.symbol])

    assert breaks_of(result)["ledger_drift"] == ("critical", Decimal(10), True)
    assert "says 100" in Break.objects.get(kind="ledger_drift", symbol=backed_token.symbol).detail


def test_a_broker_that_does_not_answer_makes_the_run_incomplete_and_never_a_false_break(backed_token):
    backed_token.broker.adjust_position(backed_token.symbol, "-10")  # a real difference nobody can see today
    backed_token.account.base_url = closed_port_url()
    backed_token.account.save()

    result = services.run_reconciliation([backed_token.symbol])

    assert result.status == "incomplete" and not result.clean
    (line,) = result.instruments
    assert line.status == "incomplete" and line.shares_in_custody is None and line.difference is None
    assert "custody:" in line.explanation and "unreachable" in line.explanation
    assert breaks_of(result) == {"stale_source": ("warning", Decimal(1), True)}
    assert not Break.objects.filter(symbol=backed_token.symbol).exists()


@pytest.fixture(params=["closed port", 429, 502, 503, 404])
def unreachable_rpc_url(request) -> Iterator[str]:
    """A node that does not answer, or one behind a proxy or rate limiter answering an HTTP error status."""
    if request.param == "closed port":
        yield closed_port_url()
        return
    with http_status_server(request.param) as url:
        yield url


def test_an_rpc_node_that_does_not_answer_makes_the_run_incomplete_and_never_a_false_break(backed_token, settings,
                                                                                         unreachable_rpc_url):
    backed_token.mint_bypassing_the_system(3)  # a real unknown mint nobody can see today
    settings.CHAIN_NETWORKS = network_settings(unreachable_rpc_url)

    result = services.run_reconciliation([backed_token.symbol])

    assert result.status == "incomplete"
    (line,) = result.instruments
    assert line.status == "incomplete" and line.tokens_outstanding is None
    assert [outcome.found.subject for outcome in result.breaks] == [f"chain:{NETWORK}"]
    assert not Break.objects.filter(symbol=backed_token.symbol).exists()
    chain = InstrumentResult.objects.get(run_id=result.run_id).supply_by_network[NETWORK]
    assert chain["source_status"] == "unreachable" and chain["shares"] is None


def test_an_rpc_provider_key_in_the_url_path_never_reaches_the_ledger_or_a_break(backed_token, settings):
    key = "INFURAKEY0123456789abcdef"
    settings.CHAIN_NETWORKS = network_settings(f"{closed_port_url()}/v3/{key}?token={key}")
    head = Event.objects.order_by("-position").values_list("position", flat=True).first() or 0

    result = services.run_reconciliation([backed_token.symbol])

    assert result.status == "incomplete"
    appended = list(Event.objects.filter(position__gt=head).values_list("payload", "metadata"))
    assert appended and all(key not in json.dumps(payload) + json.dumps(metadata) for payload, metadata in appended)
    sources = {e.payload["source"]: e.payload for e in store.read_stream("reconciliation_run", result.run_id)
               if e.event_type == "source_fetched"}
    assert sources[f"chain:{NETWORK}"]["detail"].startswith("RPC endpoint http://127.0.0.1:")
    assert all(key not in detail for detail in Break.objects.values_list("detail", flat=True))


def test_a_break_closes_itself_with_a_record_once_a_later_run_no_longer_finds_it(backed_token, settings):
    backed_token.broker.adjust_position(backed_token.symbol, "-10")
    first = services.run_reconciliation([backed_token.symbol])
    drift = Break.objects.get(kind="ledger_drift", symbol=backed_token.symbol)

    down = backed_token.account.base_url
    backed_token.account.base_url = closed_port_url()
    backed_token.account.save()
    blind = services.run_reconciliation([backed_token.symbol])
    assert blind.status == "incomplete" and Break.objects.get(pk=drift.pk).status == "open"  # not seen is not fixed

    backed_token.account.base_url = down
    backed_token.account.save()
    backed_token.broker.adjust_position(backed_token.symbol, "10")  # the shares come back
    fixed = services.run_reconciliation([backed_token.symbol])

    assert fixed.clean and set(fixed.closed_break_ids) >= {drift.break_id}
    closed = Break.objects.get(pk=drift.pk)
    assert (closed.status, closed.first_run_id, closed.closed_by_run_id) == ("closed", first.run_id, fixed.run_id)
    stream = store.read_stream("reconciliation_break", drift.break_id)
    assert [e.event_type for e in stream] == ["break_opened", "break_auto_closed"]
    assert stream[-1].payload["run_id"] == fixed.run_id


def test_a_difference_seen_again_keeps_its_break_and_moves_last_seen(backed_token):
    backed_token.mint_bypassing_the_system(2)
    first = services.run_reconciliation([backed_token.symbol])
    backed_token.mint_bypassing_the_system(1)
    second = services.run_reconciliation([backed_token.symbol])

    assert [outcome.new for outcome in second.breaks] == [False, False]
    assert {o.break_id for o in first.breaks} == {o.break_id for o in second.breaks}
    unbacked = Break.objects.get(kind="unbacked_supply", symbol=backed_token.symbol)
    assert (unbacked.amount, unbacked.times_seen, unbacked.last_run_id) == (Decimal(3), 2, second.run_id)


def test_shares_secured_for_a_mint_not_yet_made_explain_the_extra_shares(backed_token):
    backed_token.secure_shares_for_a_mint("25")

    result = services.run_reconciliation([backed_token.symbol])

    assert result.clean
    (line,) = result.instruments
    assert (line.shares_in_custody, line.tokens_outstanding, line.difference) == (Decimal(125), Decimal(100), Decimal(25))
    assert "25 shares secured for mints not yet minted" in line.explanation


def test_a_mint_on_chain_not_yet_confirmed_by_issuance_is_in_flight_not_unknown(backed_token, settings, w3):
    settings.CHAIN_NETWORKS = network_settings(backed_token.keys.rpc_url, confirmations=3)
    sent = issuance.process_mint(backed_token.secure_shares_for_a_mint("5"), wait_seconds=0)
    assert sent.status == MintRequest.Status.BROADCAST
    w3.provider.make_request("anvil_mine", [hex(3)])  # deep enough for the pinned block, not yet booked

    result = services.run_reconciliation([backed_token.symbol])

    assert result.clean, result.breaks
    (line,) = result.instruments
    assert line.tokens_outstanding == Decimal(105)
    assert f"5 minted on {NETWORK}, not yet booked" in line.explanation
