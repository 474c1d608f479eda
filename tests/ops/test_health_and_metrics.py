"""Probes and metrics tell operators the truth: a dependency down or stale custody data is 'not ready'."""
from __future__ import annotations

import logging

import pytest

from ledger import store
from ledger.store import NewEvent
from ops import metrics
from ops.logging import JsonFormatter, RedactSecretsFilter, redact

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_chains(settings):
    settings.CHAIN_NETWORKS = {}


def test_liveness_answers_without_touching_dependencies(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readiness_is_not_ready_until_custody_data_is_fresh(client, unique):
    from django.db import connection

    with connection.cursor() as cursor:  # this test's transaction sees no earlier custody observation
        cursor.execute("SELECT count(*) FROM ledger_event WHERE event_type IN ('positions_observed', 'statement_imported')")
        had_observation = cursor.fetchone()[0] > 0
    if not had_observation:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"]["custody_freshness"]["ok"] is False
    store.append("journal", unique, [NewEvent("positions_observed", {"account": "alpaca-main"})], metadata={"actor": "system:test"})
    body = client.get("/readyz").json()
    assert body["checks"]["custody_freshness"]["ok"] is True
    assert body["checks"]["database"]["ok"] is True
    assert body["status"] == ("ready" if all(c["ok"] for c in body["checks"].values()) else "not_ready")


def test_readiness_names_an_unreachable_broker(client, settings, monkeypatch):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


def test_metrics_count_requests_and_expose_the_ledger_head(client, settings):
    settings.METRICS_TOKEN = ""
    metrics._redis = None
    before = client.get("/metrics").content.decode()
    client.get("/healthz")
    after = client.get("/metrics").content.decode()
    line = next(l for l in after.splitlines() if l.startswith('shareledger_http_requests_total{method="GET",status="200"}'))
    previous = [l for l in before.splitlines() if l.startswith('shareledger_http_requests_total{method="GET",status="200"}')]
    assert int(line.rsplit(" ", 1)[1]) >= (int(previous[0].rsplit(" ", 1)[1]) if previous else 0) + 2
    assert "shareledger_ledger_head_position" in after


def test_metrics_require_the_token_when_one_is_set(client, settings):
    settings.METRICS_TOKEN = "scrape-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token").status_code == 200


def test_secrets_never_reach_the_logs():
    text = redact("auth Bearer slk_ab12_Zsecretpart key=0x" + "a" * 64 + " password=hunter2 and slk_pref_secretvalue")
    assert "Zsecretpart" not in text and "hunter2" not in text and "a" * 64 not in text and "secretvalue" not in text
    assert "slk_pref_***" in text
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "api key %s used", ("slk_pp_topsecret",), None)
    RedactSecretsFilter().filter(record)
    assert "topsecret" not in JsonFormatter().format(record)


def test_metrics_expose_open_breaks_and_mint_cycle_times(client, settings, unique):
    from datetime import timedelta

    from django.utils import timezone

    from custody.models import Instrument
    from issuance.models import MintRequest, TokenDeployment
    from partners.services import create_partner
    from reconciliation.models import Break, ReconciliationRun

    settings.METRICS_TOKEN = ""
    instrument = Instrument.objects.create(symbol=f"M{unique[:6].upper()}", name="Metrics Inc.", isin=f"XS{unique[:10].upper()}")
    partner = create_partner(f"p-{unique}", "Metrics partner", actor="user:test")
    now = timezone.now()
    deployment = TokenDeployment.objects.create(id=f"anvil:0x{unique:0>40}"[:49], instrument=instrument, network="anvil",
                                                chain_id=31337, contract_address="0x" + "1" * 40, token_symbol="MX",
                                                decimals=18, deploy_tx_block=1, deployed_at=now)
    stages = {"requested_at": now - timedelta(seconds=10), "approved_at": now - timedelta(seconds=9),
              "secured_at": now - timedelta(seconds=8), "signed_at": now - timedelta(seconds=7),
              "broadcast_at": now - timedelta(seconds=6), "confirmed_at": now - timedelta(seconds=4),
              "completed_at": now - timedelta(seconds=3)}
    MintRequest.objects.create(id=f"m-{unique}", partner=partner, instrument=instrument, deployment=deployment,
                               network="anvil", wallet_address="0x" + "2" * 40, qty=1, amount_base_units=10**18,
                               qty_shares=1, status=MintRequest.Status.COMPLETED, source="partner",
                               requested_by="partner:x", needs_second_approval=False, **stages)
    run = ReconciliationRun.objects.create(run_id=f"run-{unique}", scope="all", status="completed", actor="system:test",
                                           started_at=now, last_position=0, last_event_hash="0" * 64)
    Break.objects.create(break_id=f"brk-{unique}", key=f"unbacked_supply:{instrument.symbol}", symbol=instrument.symbol,
                         kind="unbacked_supply", severity="critical", status="open", amount=1, unit=instrument.symbol,
                         detail="tokens > shares", first_seen_at=now, last_seen_at=now, first_run=run, last_run=run)
    text = client.get("/metrics").content.decode()
    assert 'shareledger_reconciliation_open_breaks{severity="critical",kind="unbacked_supply"}' in text
    assert 'shareledger_mint_cycle_seconds{stage="request_to_confirmed",quantile="0.95"}' in text
