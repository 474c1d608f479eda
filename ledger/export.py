"""Audit export: the events recorded in a period, one JSON object per line, verifiable without our database.

Line 1 is a header; every other line is one event exactly as it was hashed (canonical strings for decimals
and timestamps). `tools/verify_export.py` re-derives every hash from these lines alone. The header also lists
the anchors recorded for positions in the file, so an auditor knows which on-chain anchors to read and pass
to `--anchor`; the verifier never takes a hash from the header.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import IO

from django.db import connection, transaction

from . import canonical
from .anchor import ANCHOR_STREAM_TYPE
from .errors import LedgerError
from .log_scan import scan

EXPORT_FORMAT = "shareledger-export/1"


class EventMissing(LedgerError):
    """The event just before the period is gone: the export could not say what the period's first event links to.
    Only someone who switched the immutability triggers off can delete one; verify_ledger names the gap."""

    code = "event_missing"


def event_line(event) -> dict:
    return {
        "position": event.position,
        "stream_type": event.stream_type,
        "stream_id": event.stream_id,
        "version": event.version,
        "event_type": event.event_type,
        "schema_version": event.schema_version,
        "payload": canonical.loads(event.payload_json),
        "metadata": canonical.loads(event.metadata_json),
        "recorded_at": event.recorded_at,
        "effective_at": event.effective_at,
        "postings": [{"account": p.account, "asset": p.asset, "amount": p.amount} for p in event.postings],
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def export(out: IO[str], date_from: date, date_to: date) -> dict:
    """Write events recorded from the start of date_from to the end of date_to (UTC). Returns the header."""
    start = datetime.combine(date_from, time.min, tzinfo=UTC)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=UTC)
    with transaction.atomic():
        with connection.cursor() as cursor:
            # recorded_at never goes backwards along positions, so the period is one contiguous range.
            cursor.execute(
                "SELECT min(position), max(position), count(*) FROM ledger_event WHERE recorded_at >= %s AND recorded_at < %s",
                [start, end],
            )
            first, last, count = cursor.fetchone()
            prev_hash = canonical.GENESIS_HASH
            if first and first > 1:
                cursor.execute("SELECT hash FROM ledger_event WHERE position = %s", [first - 1])
                before = cursor.fetchone()
                if before is None:
                    raise EventMissing(f"event at position {first - 1}, before the period, is missing")
                prev_hash = before[0]
            anchors = _anchors_within(cursor, first, last) if first else []
        header = {
            "format": EXPORT_FORMAT,
            "from": date_from.isoformat(),
            "to": date_to.isoformat(),
            "first_position": first,
            "last_position": last,
            "event_count": count,
            "prev_hash": prev_hash if first else None,
            "anchors": anchors,
            "generated_at": canonical.timestamp_str(datetime.now(UTC)),
        }
        out.write(canonical.dumps(header) + "\n")
        if first:
            for event in scan(first, last):
                out.write(canonical.dumps(event_line(event)) + "\n")
    return header


def _anchors_within(cursor, first: int, last: int) -> list[dict]:
    """The recorded anchors of positions first..last, whenever recorded (an anchor's record comes after the
    position it anchors, sometimes in the next period). Read through the stream index: one row per anchor."""
    cursor.execute(
        "SELECT (payload->>'position')::bigint, payload->>'head_hash', (payload->>'chain_id')::bigint,"
        " payload->>'contract' FROM ledger_event WHERE stream_type = %s"
        " AND (payload->>'position')::bigint BETWEEN %s AND %s ORDER BY 1, 3, 4",
        [ANCHOR_STREAM_TYPE, first, last],
    )
    return [{"position": position, "hash": head_hash, "chain_id": chain_id, "contract": contract}
            for position, head_hash, chain_id, contract in cursor.fetchall()]
