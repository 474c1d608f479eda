"""Run issuance worker steps in separate processes (several at once, or killed at a named crash point)."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

from .conftest import ChainKeys

PROCESS_MINT = r"""
import sys, time, django
django.setup()
from issuance import services
from ledger.errors import DomainError
start_at = float(sys.argv[2])
while time.time() < start_at:
    time.sleep(0.001)
try:
    print(services.process_mint(sys.argv[1]).status)
except DomainError as refusal:
    print(refusal.code)
"""


def worker_env(subprocess_env: dict[str, str], keys: ChainKeys, crash_at: str | None = None) -> dict[str, str]:
    # The child uses the parent's settings module and import path, plus this test's chain configuration.
    env = {**subprocess_env, **keys.env(), "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"],
           "PYTHONPATH": os.pathsep.join(filter(None, [subprocess_env["PYTHONPATH"], os.environ.get("PYTHONPATH")]))}
    if crash_at:
        env["ISSUANCE_CRASH_AT"] = crash_at
    return env


def start_process_mint(request_id: str, env: dict[str, str], start_at: float = 0.0) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", PROCESS_MINT, request_id, str(start_at)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
