"""Many 1-share mint requests racing, from several worker processes, for a limited number of shares in custody:
the set-up and the race, shared by the suite (tests/faults/test_mint_race.py) and bench/race_mints.py.

Every request goes the real way: request_mint, shares secured, then issuance.services.process_mint in a worker
process (reserve check under the instrument's lock, nonce, sign, broadcast to anvil, receipt, confirm)."""
from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from tests.conftest import ROOT

RACE_WORKER = r"""
import json, sys, time, django
django.setup()
from issuance import services
from ledger.errors import DomainError
request_ids = json.loads(open(sys.argv[1]).read())
start_at = float(sys.argv[2])
while time.time() < start_at:
    time.sleep(0.001)
outcomes = {}
for request_id in request_ids:
    try:
        outcome = services.process_mint(request_id).status
    except DomainError as refusal:
        outcome = refusal.code
    outcomes[outcome] = outcomes.get(outcome, 0) + 1
print(json.dumps(outcomes))
"""


@dataclass(frozen=True)
class RaceResult:
    requests: int
    shares_in_custody: int
    processes: int
    outcomes: dict[str, int]
    seconds: float

    def summary(self) -> str:
        return (f"{self.requests} mint requests of 1 share from {self.processes} processes against "
                f"{self.shares_in_custody} shares in custody: {json.dumps(self.outcomes, sort_keys=True)} "
                f"in {self.seconds:.1f} s ({self.requests / self.seconds:.0f} requests/s)")


def prepare_requests(partner: str, symbol: str, wallet: str, requests: int, shares_in_custody: int) -> list[str]:
    """`requests` secured 1-share mints; custody then reports only `shares_in_custody` of the shares journaled."""
    from issuance import services
    from tests.issuance.support import OPS, book_custody_shares

    journal_into_custody(symbol, requests)
    request_ids = []
    for _ in range(requests):
        request = services.request_mint(partner, symbol, "1", "anvil", wallet, "partner:race")
        services.secure_shares(request.id, OPS)
        request_ids.append(request.id)
    book_custody_shares(symbol, Decimal(shares_in_custody - requests), reason="custodian statement")
    return request_ids


def journal_into_custody(symbol: str, shares: int) -> None:
    """What custody's Alpaca sync books for one share journal (JNLS) of every share the partners claim (the
    same event as tests/issuance/conftest.py's book_share_journal, which is a fixture the benchmark cannot use)."""
    from datetime import datetime

    from custody.activities import NEW_YORK, activity_event
    from custody.activity_sync import SYNC_METADATA
    from ledger import store

    activity = {"id": f"race-jnls-{uuid.uuid4()}", "activity_type": "JNLS", "symbol": symbol, "qty": str(shares),
                "net_amount": "0", "date": datetime.now(NEW_YORK).date().isoformat(), "status": "executed",
                "description": "share journal from the partners' accounts"}
    store.append("journal", activity["id"], [activity_event("alpaca-main", activity)], metadata=SYNC_METADATA)


def race(request_ids: list[str], env: dict[str, str], processes: int, run_dir: Path,
         shares_in_custody: int) -> RaceResult:
    """Deal the requests round-robin to `processes` workers that start together; wait for all of them."""
    start_at = time.time() + 3  # every worker has imported Django before the gun
    workers = []
    for index in range(processes):
        share = run_dir / f"race-{index}.json"
        share.write_text(json.dumps(request_ids[index::processes]))
        workers.append(subprocess.Popen([sys.executable, "-c", RACE_WORKER, str(share), str(start_at)], env=env,
                                        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outcomes: dict[str, int] = {}
    for worker in workers:
        out, err = worker.communicate(timeout=600)
        if worker.returncode != 0:
            raise RuntimeError(f"race worker failed: {err[-2000:]}")
        for outcome, count in json.loads(out.strip().splitlines()[-1]).items():
            outcomes[outcome] = outcomes.get(outcome, 0) + count
    return RaceResult(len(request_ids), shares_in_custody, processes, outcomes, time.time() - start_at)
