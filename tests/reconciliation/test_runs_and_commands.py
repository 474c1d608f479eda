"""Runs never overlap for the same instruments; `manage.py reconcile` says what it found in its exit status."""
from __future__ import annotations

import time
from decimal import Decimal

import psycopg
import pytest
from celery.exceptions import Retry
from django.core.management import call_command
from django.utils import timezone

from issuance import services as issuance
from issuance.models import MintRequest
from ledger import store
from reconciliation import services
from reconciliation.errors import RunAlreadyInProgress
from reconciliation.locks import NAMESPACE
from reconciliation.models import Break, ReconciliationRun
from reconciliation.tasks import NIGHTLY_MAX_RETRIES, NIGHTLY_RETRY_SECONDS, run_nightly_reconciliation
from tests.conftest import database_url_from_settings

from .conftest import NETWORK, network_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_process():
    """A second database session, standing for a run in another worker process."""
    with psycopg.connect(database_url_from_settings(), autocommit=True) as conn:
        yield conn


def hold(conn, key: str, shared: bool = False) -> None:
    function = "pg_advisory_lock_shared" if shared else "pg_advisory_lock"
    conn.execute(f"SELECT {function}(hashtextextended(%s, 0))", [NAMESPACE + key])


def test_a_run_of_an_instrument_another_run_is_reconciling_is_refused_at_once(backed_token, other_process):
    hold(other_process, backed_token.symbol)

    with pytest.raises(RunAlreadyInProgress) as refused:
        services.run_reconciliation([backed_token.symbol])

    assert refused.value.code == "run_in_progress" and refused.value.http_status == 409
    assert not ReconciliationRun.objects.filter(scope=backed_token.symbol).exists()


def test_a_full_run_excludes_partial_runs_and_partial_runs_exclude_a_full_one(backed_token, other_process):
    hold(other_process, "all")
    with pytest.raises(RunAlreadyInProgress):
        services.run_reconciliation([backed_token.symbol])
    with pytest.raises(RunAlreadyInProgress):
        services.start_reconciliation([backed_token.symbol], actor="user:alice")
    other_process.execute("SELECT pg_advisory_unlock_all()")

    hold(other_process, "all", shared=True)  # a partial run over other instruments
    hold(other_process, "OTHER")
    with pytest.raises(RunAlreadyInProgress):
        services.run_reconciliation()
    assert services.run_reconciliation([backed_token.symbol]).clean  # disjoint instruments run side by side


def test_the_nightly_run_waits_for_a_partial_run_instead_of_dropping_the_night(other_process, monkeypatch):
    hold(other_process, "all", shared=True)  # an on-demand run over one instrument, going at 02:00
    hold(other_process, "OTHER")
    retries = []

    def retry(**options):
        retries.append(options)
        return Retry("a partial run holds the lock", when=options["countdown"])

    monkeypatch.setattr(run_nightly_reconciliation, "retry", retry)

    with pytest.raises(RunAlreadyInProgress, match="^a reconciliation of some instruments is already running"):
        services.run_reconciliation()
    assert run_nightly_reconciliation.apply().state == "RETRY"
    assert retries == [{"countdown": NIGHTLY_RETRY_SECONDS, "max_retries": NIGHTLY_MAX_RETRIES}]
    assert NIGHTLY_RETRY_SECONDS * (NIGHTLY_MAX_RETRIES + 1) < 6 * 3600  # the beat entry's expiry


def test_the_nightly_run_is_skipped_only_when_a_full_run_is_going(other_process):
    hold(other_process, "all")

    outcome = run_nightly_reconciliation.apply()

    assert outcome.get() == {"skipped": "a reconciliation covering all instruments is already running"}


def test_reconcile_prints_one_line_per_instrument_and_exits_0_when_clean(backed_token, capsys):
    with pytest.raises(SystemExit) as exit_status:
        call_command("reconcile", "--instrument", backed_token.symbol)

    assert exit_status.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{backed_token.symbol} ") and " clean " in lines[0] and "difference 0" in lines[0]
    assert lines[-1].startswith("run ") and "completed" in lines[-1]


def test_reconcile_exits_1_on_breaks_2_when_incomplete_and_3_when_refused(backed_token, settings, capsys):
    backed_token.mint_bypassing_the_system(1)
    with pytest.raises(SystemExit) as breaks:
        call_command("reconcile", "--instrument", backed_token.symbol)
    assert breaks.value.code == 1 and "NEW critical unbacked_supply" in capsys.readouterr().out

    settings.CHAIN_NETWORKS = {name: {**net, "rpc_url": "http://127.0.0.1:9"} for name, net in settings.CHAIN_NETWORKS.items()}
    with pytest.raises(SystemExit) as incomplete:
        call_command("reconcile", "--instrument", backed_token.symbol)
    assert incomplete.value.code == 2

    with pytest.raises(SystemExit) as refused:
        call_command("reconcile", "--instrument", "NOSUCH")
    assert refused.value.code == 3 and "unknown_instrument" in capsys.readouterr().err


def test_a_run_as_of_a_past_time_reads_what_the_sources_said_then(backed_token):
    before_rogue = services.run_reconciliation([backed_token.symbol])
    as_of = ReconciliationRun.objects.get(run_id=before_rogue.run_id).finished_at
    backed_token.w3.provider.make_request("evm_increaseTime", [2])  # the rogue mint lands in a later second
    backed_token.mint_bypassing_the_system(2)

    now = services.run_reconciliation([backed_token.symbol])
    then = services.run_reconciliation([backed_token.symbol], as_of=as_of)

    assert {o.found.kind for o in now.breaks} == {"unbacked_supply", "unknown_mint"}
    (line,) = then.instruments
    assert (line.status, line.tokens_outstanding) == ("clean", 100), line.explanation
    assert Break.objects.get(kind="unknown_mint", symbol=backed_token.symbol).status == "open"  # the past closes nothing


def test_a_run_as_of_a_past_time_explains_a_mint_that_was_in_flight_then(backed_token, settings):
    settings.CHAIN_NETWORKS = network_settings(backed_token.keys.rpc_url, confirmations=3)
    request_id = backed_token.secure_shares_for_a_mint("5")
    assert issuance.process_mint(request_id, wait_seconds=0).status == MintRequest.Status.BROADCAST
    backed_token.w3.provider.make_request("anvil_mine", [hex(3)])  # on chain and deep enough, not yet booked
    head_time = backed_token.w3.eth.get_block("latest")["timestamp"]
    while time.time() < head_time + 1:  # the moment must be after the head block, in the past
        time.sleep(0.1)
    then = timezone.now()
    time.sleep(0.01)
    assert issuance.process_mint(request_id).status == MintRequest.Status.COMPLETED  # booked after `then`

    result = services.run_reconciliation([backed_token.symbol], as_of=then)

    (line,) = result.instruments
    assert (line.status, line.tokens_outstanding) == ("clean", Decimal(105)), result.breaks
    assert f"5 minted on {NETWORK}, not yet booked" in line.explanation


def test_a_run_that_fails_midway_is_recorded_as_incomplete_with_the_reason(backed_token, monkeypatch):
    def broken_snapshot(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("reconciliation.runs.read_ledger", broken_snapshot)
    with pytest.raises(RuntimeError):
        services.run_reconciliation([backed_token.symbol])

    run = ReconciliationRun.objects.get(scope=backed_token.symbol)
    assert run.status == "incomplete" and run.finished_at is not None
    assert store.read_stream("reconciliation_run", run.run_id)[-1].payload["reason"] == "failed: RuntimeError: disk on fire"
