"""Streaming scan of the whole log in position order, with each event's postings, over server-side cursors.

Used by verify_ledger, export_ledger and rebuild_projections: a million-event log never sits in memory.
Events and postings are read by two ordered cursors and merged, which is much cheaper than a per-event
subquery.
"""
from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

_scan_ids = itertools.count()


@dataclass(frozen=True)
class ScannedPosting:
    account: str
    asset: str
    amount: Decimal
    effective_at: datetime
    recorded_at: datetime


@dataclass(frozen=True)
class ScannedEvent:
    position: int
    stream_type: str
    stream_id: str
    version: int
    event_type: str
    schema_version: int
    payload: Any
    metadata: Any
    recorded_at: datetime
    effective_at: datetime
    prev_hash: str
    hash: str
    postings: tuple[ScannedPosting, ...]


def scan(from_position: int = 1, to_position: int | None = None, *, itersize: int = 5000,
         where: str = "", params: tuple = ()) -> Iterator[ScannedEvent]:
    """Yield events with position in [from_position, to_position] (plus an optional extra filter on e.*).

    Must run inside a transaction (named cursors live in one); callers wrap it in transaction.atomic().
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger.log_scan.scan() must run inside transaction.atomic()")
    upper = to_position if to_position is not None else 2**62
    connection.ensure_connection()
    raw = connection.connection
    scan_id = next(_scan_ids)
    extra = f" AND ({where})" if where else ""
    events = raw.cursor(name=f"ledger_scan_events_{scan_id}")
    events.itersize = itersize
    events.execute(
        "SELECT position, stream_type, stream_id, version, event_type, schema_version, payload, metadata,"
        " recorded_at, effective_at, prev_hash, hash FROM ledger_event e"
        f" WHERE position BETWEEN %s AND %s{extra} ORDER BY position",
        (from_position, upper, *params),
    )
    postings = raw.cursor(name=f"ledger_scan_postings_{scan_id}")
    postings.itersize = itersize
    postings.execute(
        "SELECT event_position, account, asset, amount, effective_at, recorded_at FROM ledger_posting"
        " WHERE event_position BETWEEN %s AND %s ORDER BY event_position, seq",
        (from_position, upper),
    )
    try:
        pending = next(postings, None)
        for row in events:
            position = row[0]
            legs = []
            while pending is not None and pending[0] < position:
                pending = next(postings, None)  # postings of events filtered out by `where`
            while pending is not None and pending[0] == position:
                legs.append(ScannedPosting(pending[1], pending[2], pending[3], pending[4], pending[5]))
                pending = next(postings, None)
            # Django installs a jsonb loader that returns text; decode here so callers get JSON values.
            payload, metadata = json.loads(row[6]), json.loads(row[7])
            yield ScannedEvent(*row[:6], payload, metadata, *row[8:], tuple(legs))
    finally:
        events.close()
        postings.close()
