"""Run issuance worker steps in separate processes (several at once, or killed at a named crash point)."""
from __future__ import annotations

import os
import select
import subprocess
import sys
import time

from tests.conftest import ROOT

from .conftest import ChainKeys

READY_SECONDS = 600  # only bounds a hang: several workers importing Django at once can take a minute when loaded

PROCESS_MINT = r"""
import sys, django
django.setup()
from issuance import services
from ledger.errors import DomainError
if "--together" in sys.argv:
    print("ready", flush=True)  # imported: importing Django takes many seconds on a loaded machine
    sys.stdin.readline()  # the parent's go, once every worker of the race is ready
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


def start_process_mint(request_id: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", PROCESS_MINT, request_id], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def start_process_mints_together(request_ids: list[str], env: dict[str, str]) -> list[subprocess.Popen]:
    """One worker per request, all released at once when every one of them has said it is ready: a start time
    set in advance passes before the imports end on a loaded machine, and the workers then trickle in."""
    workers = [subprocess.Popen([sys.executable, "-c", PROCESS_MINT, request_id, "--together"], env=env, cwd=ROOT,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for request_id in request_ids]
    deadline = time.monotonic() + READY_SECONDS
    for worker in workers:
        ready, _, _ = select.select([worker.stdout], [], [], max(deadline - time.monotonic(), 0))
        if not ready or worker.stdout.readline().strip() != "ready":
            for each in workers:
                each.kill()
            errors = [each.communicate()[1] for each in workers]
            raise AssertionError(f"a mint worker was not ready: {errors[workers.index(worker)][-2000:]}")
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    return workers
