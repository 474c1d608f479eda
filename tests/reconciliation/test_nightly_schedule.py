"""The nightly run is wired in Celery beat, and the task really runs on a worker process against Redis."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
from django.conf import settings as django_settings
from django.db import connection

from config.celery import app
from reconciliation.models import InstrumentResult, ReconciliationRun
from reconciliation.tasks import run_nightly_reconciliation
from tests.conftest import ROOT, run_python

from .conftest import make_backed_token, network_settings


def test_the_nightly_run_is_in_the_beat_schedule_at_two_in_the_morning_utc(db):
    """Uses `db` also so that pytest-django creates the test database when this module runs alone: it does so
    only for sessions with a test marked for the database, and committed_db alone would reach the dev database."""
    app.loader.import_default_modules()
    entry = app.conf.beat_schedule["nightly-reconciliation"]

    assert entry["task"] == "reconciliation.tasks.run_nightly_reconciliation" == run_nightly_reconciliation.name
    assert entry["task"] in app.tasks
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({2}, {0})
    assert app.conf.timezone == "UTC" and entry["options"]["expires"] == 6 * 3600


def test_the_nightly_time_comes_from_the_environment(subprocess_env):
    env = {**subprocess_env, "RECONCILIATION_CRON_HOUR": "4", "RECONCILIATION_CRON_MINUTE": "30"}
    done = run_python("import django; django.setup(); from config.celery import app; "
                      "s = app.conf.beat_schedule['nightly-reconciliation']['schedule']; print(s.hour, s.minute)", env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["{4}", "{30}"]


@pytest.mark.slow
def test_the_nightly_task_reconciles_on_a_real_worker_against_redis(
        committed_db, subprocess_env, unique, keys, broker, recon_sandbox, w3, monkeypatch, fast_broker_retries):
    assert connection.settings_dict["NAME"].startswith("test"), "run with a test using `db` (see above)"
    backed = make_backed_token(unique, keys, broker, recon_sandbox.base_url, w3, monkeypatch)
    queue = f"recon-test-{uuid.uuid4().hex[:8]}"
    credentials = {name: value for name, value in os.environ.items() if name.startswith("RECON_")}
    env = {**subprocess_env, **credentials,
           "SHARELEDGER_NETWORKS": json.dumps(network_settings(keys.rpc_url)),
           "RECONCILIATION_AGGREGATORS": json.dumps(django_settings.RECONCILIATION_AGGREGATORS),
           "CUSTODY_BROKER_MAX_ATTEMPTS": "1", "CUSTODY_BROKER_TIMEOUT_SECONDS": "2"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "--pool", "solo", "-n",
         f"{queue}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # The worker's start is included: importing Django and Celery can take a minute on a loaded machine.
        outcome = run_nightly_reconciliation.apply_async(queue=queue).get(timeout=300)
    finally:
        worker.terminate()
        log = worker.communicate(timeout=30)[0]

    assert "run_id" in outcome, log
    run = ReconciliationRun.objects.get(run_id=outcome["run_id"])
    assert run.actor == "system:beat" and run.scope == "all" and run.status in ("completed", "incomplete")
    mine = InstrumentResult.objects.get(run=run, symbol=backed.symbol)
    assert (mine.status, mine.shares_in_custody, mine.tokens_outstanding) == ("clean", 100, 100), mine.explanation
