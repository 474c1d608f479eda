"""Streaming scan of the log in position order, with each event's postings, over server-side cursors.

Used by verify_ledger, export_ledger and projection rebuilds: a million-event log never sits in memory.
Events and postings are read by two ordered cursors and merged, much cheaper than a per-event subquery.
Timestamps and amounts arrive already in their canonical text form (formatted by PostgreSQL), which is
what hashing and exporting need; callers that want datetimes or Decimals convert.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection, transaction

from .errors import LedgerError

_scan_ids = itertools.count()
CANONICAL_TIMESTAMP = """to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


class PostingWithoutEvent(LedgerError):
    """A posting whose event is not in the log: its amounts move balances that no hashed event vouches for.
    The database refuses such a posting on insert; only someone who switched that trigger off can add one."""

    code = "posting_without_event"

    def __init__(self, position: int):
        super().__init__(f"posting at position {position} belongs to no event")
        self.position = position


@dataclass(frozen=True)
class ScannedPosting:
    account: str
    asset: str
    amount: str  # canonical decimal string
    effective_at: str
    recorded_at: str


@dataclass(frozen=True)
class ScannedEvent:
    position: int
    stream_type: str
    stream_id: str
    version: int
    event_type: str
    schema_version: int
    payload_json: str  # as PostgreSQL prints jsonb: not canonical; decode before hashing
    metadata_json: str
    recorded_at: str  # canonical UTC timestamp
    effective_at: str
    prev_hash: str
    hash: str
    postings: tuple[ScannedPosting, ...]


def numeric_text(text: str) -> str:
    """NUMERIC(38, 18) as printed by PostgreSQL ("10.500000000000000000") -> canonical decimal string."""
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def scan(from_position: int = 1, to_position: int | None = None, *, itersize: int = 5000) -> Iterator[ScannedEvent]:
    """Yield events with position in [from_position, to_position]. Must run inside transaction.atomic().

    Raises PostingWithoutEvent at a posting between two events that is not theirs, or, when `to_position` is
    given, one after the last event up to it. Without a bound, postings after the last event are left alone:
    the postings cursor starts after the events cursor, so it may see an append committed in between."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger.log_scan.scan() must run inside transaction.atomic()")
    upper = to_position if to_position is not None else 2**62
    connection.ensure_connection()
    raw = connection.connection
    scan_id = next(_scan_ids)
    events = raw.cursor(name=f"ledger_scan_events_{scan_id}")
    events.itersize = itersize
    events.execute(
        "SELECT position, stream_type, stream_id, version, event_type, schema_version, payload::text, metadata::text, "
        + CANONICAL_TIMESTAMP.format(column="recorded_at") + ", " + CANONICAL_TIMESTAMP.format(column="effective_at")
        + ", prev_hash, hash FROM ledger_event WHERE position BETWEEN %s AND %s ORDER BY position",
        (from_position, upper),
    )
    postings = raw.cursor(name=f"ledger_scan_postings_{scan_id}")
    postings.itersize = itersize * 2
    postings.execute(
        "SELECT event_position, account, asset, amount::text, "
        + CANONICAL_TIMESTAMP.format(column="effective_at") + ", " + CANONICAL_TIMESTAMP.format(column="recorded_at")
        + " FROM ledger_posting WHERE event_position BETWEEN %s AND %s ORDER BY event_position, seq",
        (from_position, upper),
    )
    try:
        pending = next(postings, None)
        for row in events:
            position = row[0]
            legs = []
            if pending is not None and pending[0] < position:
                raise PostingWithoutEvent(pending[0])
            while pending is not None and pending[0] == position:
                legs.append(ScannedPosting(pending[1], pending[2], numeric_text(pending[3]), pending[4], pending[5]))
                pending = next(postings, None)
            yield ScannedEvent(*row, tuple(legs))
        if to_position is not None and pending is not None:
            raise PostingWithoutEvent(pending[0])
    finally:
        events.close()
        postings.close()
