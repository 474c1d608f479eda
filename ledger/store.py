"""The only code that writes events. Every app records its facts through `append` / `append_many`.

Write path (one PostgreSQL transaction):
1. Validate and canonicalize everything in Python, before taking any lock.
2. `pg_advisory_xact_lock(LEDGER_LOCK)`: appends are serialized, so positions are handed out in commit order
   (a follower reading "after N" never skips a late commit) and the hash chain has exactly one head.
3. Idempotency key lookup, stream version checks, read the chain head and the database clock.
4. Hash each event over its canonical encoding + previous hash; COPY events and postings.
5. Run the in-transaction projectors (balances, stream heads, app read models) and move their checkpoints.
6. Remember the idempotency key with the result. Commit releases the lock.
"""
from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction

from . import canonical, idempotency, projections
from .errors import ConcurrencyError, InvalidEvent, UnbalancedPostings
from .streams import check_stream_type

LEDGER_LOCK = 0x5348_4C44_4745_5231  # "SHLDGER1": the single append lock
IDEMPOTENCY_SCOPE = "ledger.append"
ACCOUNT_RE = re.compile(r"^[A-Za-z0-9_.@-]+(:[A-Za-z0-9_.@-]+)+$")
ASSET_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
EVENT_TYPE_RE = re.compile(r"^[a-z][a-z0-9_.]{0,99}$")
ANY_VERSION = None
NO_STREAM = 0


@dataclass(frozen=True)
class Posting:
    account: str
    asset: str
    amount: Decimal


@dataclass(frozen=True)
class NewEvent:
    event_type: str
    payload: Mapping[str, Any]
    postings: Sequence[Posting] = ()
    effective_at: datetime | None = None
    schema_version: int = 1


@dataclass(frozen=True)
class StreamAppend:
    """Events for one stream. expected_version: None = no check, 0 = stream must be new, N = stream is at N."""

    stream_type: str
    stream_id: str
    events: Sequence[NewEvent]
    expected_version: int | None = ANY_VERSION


@dataclass(frozen=True)
class RecordedEvent:
    position: int
    stream_type: str
    stream_id: str
    version: int
    event_type: str
    schema_version: int
    payload: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime
    effective_at: datetime
    postings: tuple[Posting, ...]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AppendResult:
    first_position: int
    last_position: int
    stream_versions: dict[str, int]  # "type/id" -> version after the append
    replayed: bool = False
    events: tuple[RecordedEvent, ...] = field(default=(), compare=False)


@dataclass
class _Prepared:
    stream_type: str
    stream_id: str
    expected_version: int | None
    event_type: str
    schema_version: int
    payload: dict[str, Any]
    postings: list[tuple[str, str, Decimal]]
    effective_at: datetime | None


def stream_key(stream_type: str, stream_id: str) -> str:
    return f"{stream_type}/{stream_id}"


def append(
    stream_type: str,
    stream_id: str,
    events: Sequence[NewEvent],
    *,
    metadata: Mapping[str, Any],
    expected_version: int | None = ANY_VERSION,
    idempotency_key: str | None = None,
) -> AppendResult:
    """Append events to one stream atomically. See `append_many`."""
    return append_many(
        [StreamAppend(stream_type, stream_id, events, expected_version)],
        metadata=metadata,
        idempotency_key=idempotency_key,
    )


def append_many(
    appends: Sequence[StreamAppend],
    *,
    metadata: Mapping[str, Any],
    idempotency_key: str | None = None,
) -> AppendResult:
    """Append to one or more streams in one transaction: all events are written or none.

    `metadata` (actor required; partner, request_id, causation_id, correlation_id...) is stored on every
    event. With an `idempotency_key`, a retry of the same request returns the first result and writes
    nothing; the same key with a different request raises IdempotencyConflict.
    """
    prepared = _prepare(appends)
    meta = _prepare_metadata(metadata)
    request_hash = None
    if idempotency_key is not None:
        request_hash = canonical.sha256_hex(canonical.dumps(_request_fingerprint(prepared, meta)))

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LEDGER_LOCK])
            if idempotency_key is not None:
                earlier = idempotency.lookup(IDEMPOTENCY_SCOPE, idempotency_key, request_hash)
                if earlier is not None:
                    return AppendResult(
                        first_position=earlier["first_position"],
                        last_position=earlier["last_position"],
                        stream_versions=earlier["stream_versions"],
                        replayed=True,
                    )
            recorded = _write(cursor, prepared, meta)
            projections.apply_in_transaction(recorded)
        versions: dict[str, int] = {}
        for event in recorded:
            versions[stream_key(event.stream_type, event.stream_id)] = event.version
        result = AppendResult(recorded[0].position, recorded[-1].position, versions, False, tuple(recorded))
        if idempotency_key is not None:
            idempotency.remember(
                IDEMPOTENCY_SCOPE,
                idempotency_key,
                request_hash,
                {"first_position": result.first_position, "last_position": result.last_position,
                 "stream_versions": versions},
            )
    return result


def _prepare(appends: Sequence[StreamAppend]) -> list[_Prepared]:
    if not appends:
        raise InvalidEvent("no_events", "nothing to append")
    prepared: list[_Prepared] = []
    seen_streams: set[str] = set()
    for stream in appends:
        check_stream_type(stream.stream_type)
        if not isinstance(stream.stream_id, str) or not stream.stream_id or len(stream.stream_id) > 200:
            raise InvalidEvent("invalid_stream_id", f"stream id must be a non-empty string of at most 200 characters")
        key = stream_key(stream.stream_type, stream.stream_id)
        if key in seen_streams:
            raise InvalidEvent("duplicate_stream", f"stream {key} appears twice in one append; merge its events")
        seen_streams.add(key)
        if stream.expected_version is not None and (not isinstance(stream.expected_version, int) or stream.expected_version < 0):
            raise InvalidEvent("invalid_expected_version", "expected_version must be None or an integer >= 0")
        if not stream.events:
            raise InvalidEvent("no_events", f"no events for stream {key}")
        for event in stream.events:
            prepared.append(_prepare_event(stream, event))
    return prepared


def _prepare_event(stream: StreamAppend, event: NewEvent) -> _Prepared:
    if not isinstance(event.event_type, str) or not EVENT_TYPE_RE.match(event.event_type):
        raise InvalidEvent("invalid_event_type", f"event type {event.event_type!r} must be lower_snake (dots allowed)")
    if not isinstance(event.schema_version, int) or not 1 <= event.schema_version <= 1000:
        raise InvalidEvent("invalid_schema_version", "schema_version must be an integer from 1")
    if not isinstance(event.payload, Mapping):
        raise InvalidEvent("invalid_payload", "payload must be a JSON object")
    payload = canonical.normalize_json(dict(event.payload))
    if event.effective_at is not None:
        canonical.timestamp_str(event.effective_at)  # refuses naive datetimes
    postings: list[tuple[str, str, Decimal]] = []
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for leg in event.postings:
        if not isinstance(leg, Posting):
            raise InvalidEvent("invalid_posting", "postings must be ledger.store.Posting values")
        if not isinstance(leg.account, str) or len(leg.account) > 200 or not ACCOUNT_RE.match(leg.account):
            raise InvalidEvent("invalid_account", f"account {leg.account!r} must be a path like custody:alpaca:AAPL")
        if not isinstance(leg.asset, str) or not ASSET_RE.match(leg.asset):
            raise InvalidEvent("invalid_asset", f"asset {leg.asset!r} must be a short code like AAPL or USD")
        amount = canonical.parse_amount(leg.amount, f"amount for {leg.account}")
        if amount == 0:
            raise InvalidEvent("zero_amount", f"posting to {leg.account} has a zero amount")
        totals[leg.asset] = canonical.EXACT.add(totals[leg.asset], amount)
        postings.append((leg.account, leg.asset, amount))
    unbalanced = {asset: total for asset, total in totals.items() if total != 0}
    if unbalanced:
        detail = ", ".join(f"{asset} by {canonical.decimal_str(total)}" for asset, total in sorted(unbalanced.items()))
        raise UnbalancedPostings(f"postings of {event.event_type} do not sum to zero: off {detail}")
    return _Prepared(stream.stream_type, stream.stream_id, stream.expected_version, event.event_type,
                     event.schema_version, payload, postings, event.effective_at)


def _prepare_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(metadata, Mapping):
        raise InvalidEvent("invalid_metadata", "metadata must be a mapping")
    meta = canonical.normalize_json(dict(metadata), "metadata")
    actor = meta.get("actor")
    if not isinstance(actor, str) or not actor.strip():
        raise InvalidEvent("missing_actor", "metadata.actor must name who or what caused the event")
    return meta


def _request_fingerprint(prepared: list[_Prepared], meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": meta,
        "events": [
            {
                "stream": stream_key(p.stream_type, p.stream_id),
                "expected_version": p.expected_version,
                "event_type": p.event_type,
                "schema_version": p.schema_version,
                "payload": p.payload,
                "postings": [[a, s, canonical.decimal_str(m)] for a, s, m in p.postings],
                "effective_at": canonical.timestamp_str(p.effective_at) if p.effective_at else None,
            }
            for p in prepared
        ],
    }


def _write(cursor, prepared: list[_Prepared], meta: dict[str, Any]) -> list[RecordedEvent]:
    streams = sorted({(p.stream_type, p.stream_id) for p in prepared})
    cursor.execute(
        """
        SELECT s.stream_type, s.stream_id, coalesce(max(e.version), 0)
          FROM unnest(%s::text[], %s::text[]) AS s(stream_type, stream_id)
          LEFT JOIN ledger_event e ON e.stream_type = s.stream_type AND e.stream_id = s.stream_id
         GROUP BY s.stream_type, s.stream_id
        """,
        [[s[0] for s in streams], [s[1] for s in streams]],
    )
    versions = {(row[0], row[1]): row[2] for row in cursor.fetchall()}
    for p in prepared:
        if p.expected_version is not None and versions[(p.stream_type, p.stream_id)] != p.expected_version:
            raise ConcurrencyError(stream_key(p.stream_type, p.stream_id), p.expected_version,
                                   versions[(p.stream_type, p.stream_id)])

    cursor.execute(
        """
        SELECT clock_timestamp(), h.position, h.hash, h.recorded_at
          FROM (SELECT 1) AS one
          LEFT JOIN LATERAL (SELECT position, hash, recorded_at FROM ledger_event ORDER BY position DESC LIMIT 1) h ON true
        """
    )
    now, head_position, head_hash, head_recorded_at = cursor.fetchone()
    position = head_position or 0
    prev_hash = head_hash or canonical.GENESIS_HASH
    recorded_at = max(now, head_recorded_at) if head_recorded_at else now  # never goes backwards
    recorded_at_text = canonical.timestamp_str(recorded_at)
    meta_text = canonical.dumps(meta)

    recorded: list[RecordedEvent] = []
    event_rows = []
    posting_rows = []
    for p in prepared:
        position += 1
        versions[(p.stream_type, p.stream_id)] += 1
        version = versions[(p.stream_type, p.stream_id)]
        effective_at = p.effective_at or recorded_at
        effective_at_text = canonical.timestamp_str(effective_at)
        legs = [{"account": a, "asset": s, "amount": canonical.decimal_str(m)} for a, s, m in p.postings]
        digest = canonical.event_hash(
            position=position, stream_type=p.stream_type, stream_id=p.stream_id, version=version,
            event_type=p.event_type, schema_version=p.schema_version, payload=p.payload, metadata=meta,
            recorded_at=recorded_at_text, effective_at=effective_at_text, postings=legs, prev_hash=prev_hash,
        )
        event_rows.append((position, p.stream_type, p.stream_id, version, p.event_type, p.schema_version,
                           canonical.dumps(p.payload), meta_text, recorded_at, effective_at, prev_hash, digest))
        for seq, (account, asset, amount) in enumerate(p.postings):
            posting_rows.append((position, seq, account, asset, amount, effective_at, recorded_at))
        recorded.append(RecordedEvent(
            position, p.stream_type, p.stream_id, version, p.event_type, p.schema_version, p.payload, meta,
            recorded_at, effective_at, tuple(Posting(a, s, m) for a, s, m in p.postings), prev_hash, digest,
        ))
        prev_hash = digest

    try:
        with cursor.cursor.copy(
            "COPY ledger_event (position, stream_type, stream_id, version, event_type, schema_version, payload,"
            " metadata, recorded_at, effective_at, prev_hash, hash) FROM STDIN"
        ) as copy:
            for row in event_rows:
                copy.write_row(row)
        if posting_rows:
            with cursor.cursor.copy(
                "COPY ledger_posting (event_position, seq, account, asset, amount, effective_at, recorded_at) FROM STDIN"
            ) as copy:
                for row in posting_rows:
                    copy.write_row(row)
    except IntegrityError as exc:  # the lock makes this unreachable unless someone writes around the store
        raise ConcurrencyError("(unknown)", None, -1) from exc
    return recorded


def read_stream(stream_type: str, stream_id: str, *, after_version: int = 0) -> list[RecordedEvent]:
    """All events of one stream in version order."""
    return list(_read("WHERE e.stream_type = %s AND e.stream_id = %s AND e.version > %s ORDER BY e.version",
                      [stream_type, stream_id, after_version]))


def read_all(*, after_position: int = 0, limit: int = 1000, event_types: Sequence[str] | None = None) -> list[RecordedEvent]:
    """Events in global order after a position: what followers poll."""
    if event_types:
        return list(_read("WHERE e.position > %s AND e.event_type = ANY(%s) ORDER BY e.position LIMIT %s",
                          [after_position, list(event_types), limit]))
    return list(_read("WHERE e.position > %s ORDER BY e.position LIMIT %s", [after_position, limit]))


def head_position() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(position), 0) FROM ledger_event")
        return cursor.fetchone()[0]


def _read(where: str, params: list[Any]) -> Iterator[RecordedEvent]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT e.position, e.stream_type, e.stream_id, e.version, e.event_type, e.schema_version, e.payload,
                   e.metadata, e.recorded_at, e.effective_at, e.prev_hash, e.hash,
                   coalesce((SELECT array_agg(ARRAY[p.account, p.asset, p.amount::text] ORDER BY p.seq)
                               FROM ledger_posting p WHERE p.event_position = e.position), '{{}}')
              FROM ledger_event e {where}
            """,
            params,
        )
        for row in cursor.fetchall():
            legs = tuple(Posting(a, s, canonical.normalize_decimal(Decimal(m))) for a, s, m in row[12])
            payload, metadata = json.loads(row[6]), json.loads(row[7])  # Django's jsonb loader returns text
            yield RecordedEvent(*row[:6], payload, metadata, row[8], row[9], legs, row[10], row[11])


def iter_all(*, batch_size: int = 5000, after_position: int = 0) -> Iterator[list[RecordedEvent]]:
    """The whole log in position order, in batches, streamed from the database (call inside a transaction)."""
    from .log_scan import scan

    batch: list[RecordedEvent] = []
    for e in scan(after_position + 1, itersize=batch_size):
        batch.append(RecordedEvent(
            e.position, e.stream_type, e.stream_id, e.version, e.event_type, e.schema_version, e.payload,
            e.metadata, e.recorded_at, e.effective_at,
            tuple(Posting(p.account, p.asset, canonical.normalize_decimal(p.amount)) for p in e.postings), e.prev_hash, e.hash,
        ))
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch
