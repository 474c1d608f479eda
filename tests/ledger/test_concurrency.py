"""Several processes appending at once: one chain, one order, no skipped events, stale versions refused."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from ledger import store
from ledger.verify import verify
from tests.conftest import ROOT

WRITER = r"""
import json, os, sys, time
import django
django.setup()
from decimal import Decimal
from ledger import store
from ledger.errors import ConcurrencyError
from ledger.store import NewEvent, Posting

tag, worker, rounds, own_events, start_at = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
actor = {"actor": f"system:test-writer-{worker}"}
leg = lambda q: [Posting(f"custody:w{worker}:{tag}", "AAPL", Decimal(q)), Posting(f"equity:{tag}", "AAPL", -Decimal(q))]
wins, stale = [], 0
while time.time() < start_at:
    time.sleep(0.001)
for r in range(rounds):
    # Everyone believes the shared stream is at version r and races to write version r+1.
    try:
        store.append("journal", f"shared-{tag}", [NewEvent("race_won", {"worker": worker, "round": r}, leg("1"))],
                     metadata=actor, expected_version=r)
        wins.append(r)
    except ConcurrencyError:
        stale += 1
    while store.read_stream("journal", f"shared-{tag}", after_version=r) == []:
        time.sleep(0.001)  # wait until some writer has won round r
    for i in range(own_events):
        store.append("journal", f"own-{tag}-{worker}", [NewEvent("own_event", {"i": i}, leg("0.5"))], metadata=actor)
print(json.dumps({"wins": wins, "stale": stale}))
"""

FOLLOWER = r"""
import json, sys, time
import django
django.setup()
from ledger import store
# The deadline only bounds a hang: on a loaded machine the writers may still be importing Django a minute on.
after, stop_at_count, deadline = int(sys.argv[1]), int(sys.argv[2]), time.time() + 600
seen = []
while len(seen) < stop_at_count and time.time() < deadline:
    batch = store.read_all(after_position=after, limit=50)
    for event in batch:
        seen.append(event.position)
        after = event.position
    time.sleep(0.002)
print(json.dumps(seen))
"""


@pytest.mark.slow
def test_racing_writers_get_one_order_one_chain_and_a_follower_skips_nothing(subprocess_env, unique):
    writers, rounds, own_events = 4, 6, 5
    start_position = store.head_position()
    expected_events = rounds + writers * rounds * own_events
    start_at = time.time() + 3
    follower = subprocess.Popen([sys.executable, "-c", FOLLOWER, str(start_position), str(expected_events)],
                                env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, unique, str(w), str(rounds), str(own_events), str(start_at)],
                              env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
             for w in range(writers)]
    results = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, err
            results.append(json.loads(out))
        out, err = follower.communicate(timeout=600)
    finally:  # a failed writer must not leave the follower polling the test database until its deadline
        for proc in [*procs, follower]:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert follower.returncode == 0, err
    seen = json.loads(out)

    # Each round exactly one writer won; everyone else's stale expected version was refused.
    all_wins = sorted(r for result in results for r in result["wins"])
    assert all_wins == list(range(rounds))
    assert sum(result["stale"] for result in results) == rounds * (writers - 1)
    shared = store.read_stream("journal", f"shared-{unique}")
    assert [e.version for e in shared] == list(range(1, rounds + 1))
    for w in range(writers):
        assert [e.version for e in store.read_stream("journal", f"own-{unique}-{w}")] == list(range(1, rounds * own_events + 1))

    # The follower saw every position, in order, with no gap: commit order is position order.
    assert seen == list(range(start_position + 1, start_position + expected_events + 1))
    result = verify(from_position=1)
    assert result.ok, result.summary()
