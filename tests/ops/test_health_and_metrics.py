"""Probes and metrics tell operators the truth: a dependency down is 'not ready'; logs never carry a secret."""
from __future__ import annotations

import logging
import subprocess
import sys
import uuid

import pytest

from ops import metrics
from ops.logging import JsonFormatter, RedactSecretsFilter, redact

from tests.conftest import ROOT

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_chains(settings):
    settings.CHAIN_NETWORKS = {}


def test_liveness_answers_without_touching_dependencies(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readiness_is_about_dependencies_not_the_age_of_custody_data(client, unique):
    """A quiet weekend writes no positions_observed event; web processes must keep serving. Stale custody data is
    reconciliation's stale_source break, not a reason to pull a process out of the load balancer."""
    body = client.get("/readyz").json()
    assert "custody_freshness" not in body["checks"]
    assert body["checks"]["database"]["ok"] is True
    assert body["status"] == ("ready" if all(c["ok"] for c in body["checks"].values()) else "not_ready")


def test_readiness_names_an_unreachable_throttle_store(client, settings):
    settings.API_THROTTLE_REDIS_URL = "redis://127.0.0.1:1/1"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["throttle_store"]["ok"] is False


def test_readiness_never_shows_an_rpc_key_or_a_redis_password_to_the_public(client, settings, caplog):
    settings.CHAIN_NETWORKS = {"mainnet": {"chain_id": 1, "rpc_url": "http://127.0.0.1:1/v3/INFURAKEY0123456789",
                                           "confirmations": 1}}
    settings.CELERY_BROKER_URL = "redis://:hunter2@127.0.0.1:1/0"
    with caplog.at_level(logging.WARNING, logger="ops.checks"):
        response = client.get("/readyz")
    text = response.content.decode()
    assert response.status_code == 503 and "INFURAKEY0123456789" not in text and "hunter2" not in text
    chain = response.json()["checks"]["chain_rpc"]
    assert (chain["ok"], chain["detail"]) == (False, "ConnectionError")
    assert any(r.name == "ops.checks" and r.exc_info for r in caplog.records)  # operators get the full story


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


def test_unknown_http_methods_share_one_metrics_series(client, settings):
    settings.METRICS_TOKEN = ""
    metrics._redis = None
    invented = f"PROBE{uuid.uuid4().hex[:8].upper()}"
    client.generic(invented, "/healthz")
    text = client.get("/metrics").content.decode()
    assert invented not in text
    assert 'shareledger_http_requests_total{method="other",status="405"}' in text


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


@pytest.mark.parametrize("line", [
    "GET /v2/positions headers={'APCA-API-KEY-ID': 'PKSECRETID123', 'APCA-API-SECRET-KEY': 'SECRETVALUE456'}",
    'headers {"APCA-API-KEY-ID": "PKSECRETID123", "APCA-API-SECRET-KEY": "SECRETVALUE456"}',
    "signer key " + "ab" * 32 + " loaded",
    "ISSUER_SIGNER_KEY=" + "ab" * 32,
    "connecting to https://mainnet.infura.io/v3/SECRETVALUE456 failed",
    "broker redis://:SECRETVALUE456@redis.internal:6379/0 down",
], ids=["alpaca-headers-repr", "alpaca-headers-json", "bare-private-key", "private-key-setting", "infura-url",
        "redis-password"])
def test_broker_credentials_private_keys_and_url_secrets_are_masked(line):
    masked = redact(line)
    assert "PKSECRETID123" not in masked and "SECRETVALUE456" not in masked and "ab" * 32 not in masked


def _failing_record(secret: str) -> logging.LogRecord:
    try:
        raise RuntimeError(f"password={secret} rejected")
    except RuntimeError:
        return logging.LogRecord("x", logging.ERROR, __file__, 1, "call failed: %s", (f"secret={secret}",), sys.exc_info())


@pytest.mark.parametrize("formatter", [logging.Formatter("%(levelname)s %(message)s"), JsonFormatter()],
                         ids=["plain", "json"])
def test_tracebacks_are_masked_in_every_log_format(formatter):
    record = _failing_record("hunter2")
    RedactSecretsFilter().filter(record)
    line = formatter.format(record)
    assert "RuntimeError" in line and "Traceback" in line and "hunter2" not in line


def test_celery_workers_keep_masking_secrets():
    """A worker sets up its own logging; Celery's default replaced the root handlers and lost the mask."""
    script = ("import django; django.setup(); import logging; from config.celery import app; "
              "app.log.setup_logging_subsystem(loglevel='INFO'); "
              "from celery.utils.log import get_task_logger; "
              "logging.getLogger('custody.tasks').warning('sync with password=hunter2'); "
              "get_task_logger('issuance.tasks').warning('mint with secret=hunter3')")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "sync with password=***" in output and "mint with secret=***" in output
    assert "hunter2" not in output and "hunter3" not in output


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
