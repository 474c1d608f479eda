"""Cycle times of mints: how long a partner waits, and which stage makes it wait (seconds, nearest-rank
percentiles over completed mints; the stage timestamps are the recorded_at of each stage's event)."""
from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

from custody.models import Instrument

from .models import MintRequest

STAGES = (  # name, from field, to field
    ("approval", "requested_at", "approved_at"),
    ("shares", "approved_at", "secured_at"),
    ("reserve_and_sign", "secured_at", "signed_at"),
    ("broadcast", "signed_at", "broadcast_at"),
    ("confirmation", "broadcast_at", "confirmed_at"),
    ("report", "confirmed_at", "completed_at"),
    ("request_to_confirmed", "requested_at", "confirmed_at"),
    ("request_to_completed", "requested_at", "completed_at"),
)
MICROSECOND = timedelta(microseconds=1)


def _seconds(delta: timedelta) -> Decimal:
    return Decimal(delta // MICROSECOND) / Decimal(1_000_000)


def percentile(values: list[Decimal], percent: int) -> Decimal | None:
    """Nearest-rank percentile (a value that occurred), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(percent / 100 * len(ordered)) - 1, 0)]


def cycle_time_stats(instrument: Instrument | str | None = None) -> dict:
    """{"count": n, "<stage>": {"p50": s, "p95": s, "count": k}, ...} over completed mints."""
    mints = MintRequest.objects.filter(status=MintRequest.Status.COMPLETED)
    if instrument is not None:
        mints = mints.filter(instrument__symbol=instrument if isinstance(instrument, str) else instrument.symbol)
    rows = list(mints.values(*{field for _, start, end in STAGES for field in (start, end)}))
    stats: dict = {"count": len(rows)}
    for name, start, end in STAGES:
        durations = [_seconds(row[end] - row[start]) for row in rows if row[start] and row[end]]
        stats[name] = {"p50": percentile(durations, 50), "p95": percentile(durations, 95), "count": len(durations)}
    return stats
