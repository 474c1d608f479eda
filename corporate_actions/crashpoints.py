"""Named places where a test makes the payout worker die, to prove a crash there pays nobody twice.

Set CORPORATE_ACTIONS_CRASH_AT=<point> or <point>:<n> in a worker's environment: it SIGKILLs itself (no
cleanup, no exception handler: what an OOM kill or power cut does) the n-th time (default: first) it reaches
the point.

    after_sign        a transaction is signed and committed to the ledger, not yet broadcast
    after_broadcast   the node accepted a transaction, its broadcast is not yet recorded
    after_confirm     a transaction's confirmation and its holders' payments are recorded

Unset (always, outside crash tests) it does nothing.
"""
from __future__ import annotations

import os
import signal
from collections import Counter

CRASH_POINTS = ("after_sign", "after_broadcast", "after_confirm")
_reached: Counter[str] = Counter()


def crash_point(name: str) -> None:
    wanted = os.environ.get("CORPORATE_ACTIONS_CRASH_AT")
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    _reached[name] += 1
    if _reached[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
