"""Named places where a test can make the worker die, to prove that a crash there loses nothing.

Set ISSUANCE_CRASH_AT to one of CRASH_POINTS in the environment of a worker process and it SIGKILLs itself
when it reaches that point (no cleanup, no exception handler runs: what a power cut or OOM kill does).

    after_sign          the signed mint/burn is committed to the ledger, not yet broadcast
    after_broadcast     the node accepted the transaction, its broadcast is not yet recorded

Unset (always, outside crash tests) it does nothing.
"""
from __future__ import annotations

import os
import signal

CRASH_POINTS = ("after_sign", "after_broadcast")


def crash_point(name: str) -> None:
    if os.environ.get("ISSUANCE_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
