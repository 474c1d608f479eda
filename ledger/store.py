"""The only code that writes events. Every app records its facts through `append` / `append_many`.

Write path (one PostgreSQL transaction):
1. Validate and canonicalize everything in Python, before taking any lock: payloads become canonical
   JSON once, postings are checked to balance, the idempotency fingerprint is computed.
2. Take the single append lock. Appends are serialized, so positions are handed out in commit order (a
   follower reading "after N" never skips a late commit) and the hash chain has exactly one head.
3. Under the lock: replay an earlier result for the idempotency key, check expected stream versions,
   hash each event over its canonical encoding + the previous hash, insert events and postings, update
   the core projections (balances, stream heads) from the rows just written, remember the key.
   - A few events (the common case): all of step 3 is ONE server-side call, `ledger_append_small`
     (migrations 0003-0005); the lock is held only while PostgreSQL works and commits.
   - Many events: `ledger_begin_append` (migration 0008) locks and reads the head in one round trip,
     Python hashes while COPY streams the rows in chunks, `ledger_project_core` projects.
4. Run the apps' projectors that read these streams in the same transaction. Commit releases the lock.

An append that is its own transaction, small, and read by no app projector is just the server-side call
in autocommit: PostgreSQL commits it, durably, before it answers (one round trip).
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from django.db import connection, transaction

from . import canonical, cycle_collector, projections
from .errors import ConcurrencyError, IdempotencyConflict, InvalidEvent, UnbalancedPostings
from .streams import check_stream_type

APPEND_LOCK_KEY = 6001130359608398385  # taken by ledger_append_lock() (migration 0002); spells "SHLDGER1"
SERVER_SIDE_MAX_EVENTS = 64  # up to this many events per append: one server-side call; more: COPY
STALE_VERSION_SQLSTATE = "SL409"  # raised by ledger_append_small for a stale expected version
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
    """One validated event, with its canonical JSON already encoded (outside the lock)."""

    stream_type: str
    stream_id: str
    key: str  # "type/id", made once per stream
    expected_version: int | None
    event_type: str
    schema_version: int
    payload: dict[str, Any]
    payload_json: str
    postings: list[tuple[str, str, Decimal, str]]  # account, asset, amount, canonical amount string
    postings_json: str
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
    batch = sum(len(stream.events) for stream in appends) > SERVER_SIDE_MAX_EVENTS
    with cycle_collector.paused() if batch else nullcontext():
        prepared = _prepare(appends)
        meta = _prepare_metadata(metadata)
        request_hash = None
        if idempotency_key is not None:
            request_hash = canonical.sha256_hex(canonical.dumps(_request_fingerprint(prepared, meta)))

        if _is_one_statement(prepared):
            recorded, earlier = _write(prepared, meta, idempotency_key, request_hash)  # its own transaction
        else:
            with transaction.atomic():
                recorded, earlier = _write(prepared, meta, idempotency_key, request_hash)
                if earlier is None:
                    projections.apply_app_projectors(recorded)
    if earlier is not None:
        return AppendResult(earlier["first_position"], earlier["last_position"], earlier["stream_versions"], replayed=True)
    versions = {p.key: e.version for p, e in zip(prepared, recorded)}
    return AppendResult(recorded[0].position, recorded[-1].position, versions, False, tuple(recorded))


def _is_one_statement(prepared: list[_Prepared]) -> bool:
    """An append that is a transaction of its own (no caller's transaction open), small enough for the
    server-side call, and read by no Python projector is that one call in autocommit: PostgreSQL commits it,
    durably, before answering. One round trip instead of BEGIN, the call and COMMIT."""
    return (len(prepared) <= SERVER_SIDE_MAX_EVENTS and not connection.in_atomic_block
            and not projections.read_by_app_projector({p.stream_type for p in prepared}))


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
            prepared.append(_prepare_event(stream, key, event))
    return prepared


def _prepare_event(stream: StreamAppend, key: str, event: NewEvent) -> _Prepared:
    if not isinstance(event.event_type, str) or not EVENT_TYPE_RE.match(event.event_type):
        raise InvalidEvent("invalid_event_type", f"event type {event.event_type!r} must be lower_snake (dots allowed)")
    if not isinstance(event.schema_version, int) or not 1 <= event.schema_version <= 1000:
        raise InvalidEvent("invalid_schema_version", "schema_version must be an integer from 1")
    if not isinstance(event.payload, Mapping):
        raise InvalidEvent("invalid_payload", "payload must be a JSON object")
    payload = canonical.normalize_json(dict(event.payload))
    payload_json = canonical.dumps(payload)
    if event.effective_at is not None:
        canonical.timestamp_str(event.effective_at)  # refuses naive datetimes
    postings: list[tuple[str, str, Decimal, str]] = []
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
        postings.append((leg.account, leg.asset, amount, format(amount, "f")))  # parse_amount normalized it
    unbalanced = {asset: total for asset, total in totals.items() if total != 0}
    if unbalanced:
        detail = ", ".join(f"{asset} by {canonical.decimal_str(total)}" for asset, total in sorted(unbalanced.items()))
        raise UnbalancedPostings(f"postings of {event.event_type} do not sum to zero: off {detail}")
    postings_json = canonical.postings_json([(a, s, text) for a, s, _, text in postings])
    return _Prepared(stream.stream_type, stream.stream_id, key, stream.expected_version, event.event_type,
                     event.schema_version, payload, payload_json, postings, postings_json, event.effective_at)


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
                "stream": p.key,
                "expected_version": p.expected_version,
                "event_type": p.event_type,
                "schema_version": p.schema_version,
                "payload": p.payload,
                "postings": [[a, s, text] for a, s, _, text in p.postings],
                "effective_at": canonical.timestamp_str(p.effective_at) if p.effective_at else None,
            }
            for p in prepared
        ],
    }


def _write(prepared: list[_Prepared], meta: dict[str, Any], idempotency_key: str | None,
           request_hash: str | None) -> tuple[list[RecordedEvent], dict[str, Any] | None]:
    """Inside the caller's transaction: lock, check, hash, insert, project. Returns the recorded events, or
    the earlier result when the idempotency key was seen with the same request."""
    connection.ensure_connection()
    try:
        if len(prepared) <= SERVER_SIDE_MAX_EVENTS:
            return _write_small(prepared, meta, idempotency_key, request_hash)
        return _write_large(prepared, meta, idempotency_key, request_hash)
    except psycopg.errors.CheckViolation as exc:  # the database's own balance check
        raise UnbalancedPostings(str(exc.diag.message_primary)) from exc
    except psycopg.errors.UniqueViolation as exc:  # only reachable by writing around the store
        raise ConcurrencyError("(written around the store)", None, -1) from exc
    except psycopg.Error as exc:
        if exc.sqlstate == STALE_VERSION_SQLSTATE:
            detail = canonical.loads(exc.diag.message_detail)
            expected = next(p.expected_version for p in prepared if p.key == detail["stream"])
            raise ConcurrencyError(detail["stream"], expected, detail["actual"]) from None
        raise


def _write_small(prepared: list[_Prepared], meta: dict[str, Any], idempotency_key: str | None,
                 request_hash: str | None) -> tuple[list[RecordedEvent], dict[str, Any] | None]:
    """A few events: one call of ledger_append_small (migrations 0003-0005) does everything under the lock, which
    is then held only while the server works and commits."""
    meta_json = canonical.dumps(meta)
    parts = [canonical.document_parts(event_type=p.event_type, schema_version=p.schema_version, stream_id=p.stream_id,
                                      stream_type=p.stream_type, payload_json=p.payload_json, metadata_json=meta_json,
                                      postings_json=p.postings_json) for p in prepared]
    events_json = canonical.dumps([
        {"stream_type": p.stream_type, "stream_id": p.stream_id, "expected_version": p.expected_version,
         "event_type": p.event_type, "schema_version": p.schema_version, "payload": p.payload_json,
         "effective_at": canonical.timestamp_str(p.effective_at) if p.effective_at else None,
         "doc_head": head, "doc_mid": mid, "doc_tail": tail}
        for p, (head, mid, tail) in zip(prepared, parts)
    ])
    legs_json = canonical.dumps([
        {"ev": index, "seq": seq, "account": account, "asset": asset, "amount": text}
        for index, p in enumerate(prepared, start=1) for seq, (account, asset, _, text) in enumerate(p.postings)
    ])
    # Server-side binding, prepared once per connection: the server neither parses the JSON literals nor
    # plans the call again on every append (Django's own cursors bind on the client).
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            "SELECT first_position, first_prev_hash, recorded_at, versions, hashes, earlier::text"
            " FROM ledger_append_small(%s::jsonb, %s::jsonb, %s, %s, %s, %s, %s::text[])",
            [events_json, legs_json, meta_json, IDEMPOTENCY_SCOPE, idempotency_key, request_hash, projections.names()],
            prepare=True,
        )
        first, prev_hash, recorded_at, versions, hashes, earlier_json = cursor.fetchone()
    if earlier_json is not None:
        return [], _earlier_result(earlier_json, idempotency_key, request_hash)
    recorded = []
    for offset, (p, version, digest) in enumerate(zip(prepared, versions, hashes)):
        recorded.append(RecordedEvent(
            first + offset, p.stream_type, p.stream_id, version, p.event_type, p.schema_version, p.payload, meta,
            recorded_at, p.effective_at or recorded_at, tuple(Posting(a, s, m) for a, s, m, _ in p.postings),
            prev_hash, digest,
        ))
        prev_hash = digest
    return recorded, None


def _earlier_result(earlier_json: str, idempotency_key: str | None, request_hash: str | None) -> dict[str, Any]:
    earlier = canonical.loads(earlier_json)
    if earlier["request_hash"] != request_hash:
        raise IdempotencyConflict(f"idempotency key {idempotency_key!r} was already used with a different request")
    return earlier["result"]


def _write_large(prepared: list[_Prepared], meta: dict[str, Any], idempotency_key: str | None,
                 request_hash: str | None) -> tuple[list[RecordedEvent], dict[str, Any] | None]:
    """Many events: lock and read the head in one round trip, then hash in Python while COPY streams the rows
    (PostgreSQL stores one chunk while Python hashes the next: two cores at work, not one after the other),
    then project."""
    streams = {p.key: (p.stream_type, p.stream_id) for p in prepared}
    with connection.connection.cursor() as cursor:
        cursor.execute(
            "SELECT clock, head_position, head_hash, head_recorded_at, versions::text, earlier::text"
            " FROM ledger_begin_append(%s::jsonb, %s, %s)",
            [canonical.dumps(list(streams.values())), IDEMPOTENCY_SCOPE, idempotency_key],
            prepare=True,
        )
        now, head_position, head_hash, head_recorded_at, versions_json, earlier_json = cursor.fetchone()
        if earlier_json is not None:
            return [], _earlier_result(earlier_json, idempotency_key, request_hash)
        versions = dict.fromkeys(streams, 0)  # the answer names only the streams that exist
        versions.update(canonical.loads(versions_json))
        for p in prepared:
            if p.expected_version is not None and versions[p.key] != p.expected_version:
                raise ConcurrencyError(p.key, p.expected_version, versions[p.key])

        recorded_at = max(now, head_recorded_at) if head_recorded_at else now  # never goes backwards
        recorded_at_text, meta_json = canonical.timestamp_str(recorded_at), canonical.dumps(meta)
        chained = _chain(prepared, meta, meta_json, versions, recorded_at, recorded_at_text, head_position or 0,
                         head_hash or canonical.GENESIS_HASH)
        recorded = _copy_large(cursor, chained, meta_json, recorded_at_text)
        cursor.execute("SELECT ledger_project_core(%s, %s, %s::text[])",
                       [recorded[0].position, recorded[-1].position, projections.names()])
        if idempotency_key is not None:
            result = {"first_position": recorded[0].position, "last_position": recorded[-1].position,
                      "stream_versions": {p.key: e.version for p, e in zip(prepared, recorded)}}
            cursor.execute(
                "INSERT INTO ledger_idempotency (scope, key, request_hash, result, created_at) VALUES (%s, %s, %s, %s::jsonb, %s)",
                [IDEMPOTENCY_SCOPE, idempotency_key, request_hash, canonical.dumps(result), recorded[0].recorded_at],
            )
    return recorded, None


@dataclass(frozen=True)
class _Chained:
    """An event with its place in the chain, and the canonical text of its effective time (hashed, then COPYed)."""

    event: RecordedEvent
    prepared: _Prepared
    effective_at_text: str


def _chain(prepared: list[_Prepared], meta: dict[str, Any], meta_json: str, versions: dict[str, int],
           recorded_at: datetime, recorded_at_text: str, position: int, prev_hash: str) -> Iterator[_Chained]:
    """Give each event its position, version and hash, linking each to the one before. A generator: the
    caller sends each chunk to PostgreSQL before the next one is hashed."""
    for p in prepared:
        position += 1
        versions[p.key] += 1
        version = versions[p.key]
        effective_at_text = canonical.timestamp_str(p.effective_at) if p.effective_at else recorded_at_text
        digest = canonical.event_hash_from_parts(
            position=position, stream_type=p.stream_type, stream_id=p.stream_id, version=version,
            event_type=p.event_type, schema_version=p.schema_version, payload_json=p.payload_json,
            metadata_json=meta_json, recorded_at=recorded_at_text, effective_at=effective_at_text,
            postings_json=p.postings_json, prev_hash=prev_hash,
        )
        event = RecordedEvent(
            position, p.stream_type, p.stream_id, version, p.event_type, p.schema_version, p.payload, meta,
            recorded_at, p.effective_at or recorded_at, tuple(Posting(a, s, m) for a, s, m, _ in p.postings),
            prev_hash, digest,
        )
        yield _Chained(event, p, effective_at_text)
        prev_hash = digest


COPY_CHUNK_EVENTS = 500  # events per COPY write: small enough that PostgreSQL starts storing early


def _copy_text(value: str) -> str:
    """A text field in COPY's text format. Canonical JSON never holds a raw control character (JSON escapes
    them), so only its backslashes need doubling; other free text may hold tabs and newlines too."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def _copy_large(cursor, chained: Iterator[_Chained], meta_json: str, recorded_at_text: str) -> list[RecordedEvent]:
    """COPY events, then their postings, each in chunks written as they are made. Event types, stream types,
    accounts, assets, amounts, times and hashes were validated to need no escaping."""
    recorded: list[RecordedEvent] = []
    posting_rows: list[str] = []
    meta_field = _copy_text(meta_json)
    with cursor.copy(
        "COPY ledger_event (position, stream_type, stream_id, version, event_type, schema_version, payload,"
        " metadata, recorded_at, effective_at, prev_hash, hash) FROM STDIN"
    ) as copy:
        rows: list[str] = []
        for c in chained:
            e, p = c.event, c.prepared
            recorded.append(e)
            rows.append(f"{e.position}\t{e.stream_type}\t{_copy_text(e.stream_id)}\t{e.version}\t{e.event_type}\t"
                        f"{e.schema_version}\t{_copy_text(p.payload_json)}\t{meta_field}\t{recorded_at_text}\t"
                        f"{c.effective_at_text}\t{e.prev_hash}\t{e.hash}\n")
            times = f"{c.effective_at_text}\t{recorded_at_text}\n"
            for seq, (account, asset, _, text) in enumerate(p.postings):
                posting_rows.append(f"{e.position}\t{seq}\t{account}\t{asset}\t{text}\t{times}")
            if len(rows) == COPY_CHUNK_EVENTS:
                copy.write("".join(rows))
                rows = []
        if rows:
            copy.write("".join(rows))
    if posting_rows:
        with cursor.copy(
            "COPY ledger_posting (event_position, seq, account, asset, amount, effective_at, recorded_at) FROM STDIN"
        ) as copy:
            for start in range(0, len(posting_rows), 2 * COPY_CHUNK_EVENTS):
                copy.write("".join(posting_rows[start:start + 2 * COPY_CHUNK_EVENTS]))
    return recorded


@contextmanager
def appends_held() -> Iterator[None]:
    """Hold back every append while the caller reads several things: the log and every projection updated
    inside appends then stay at one position across the caller's statements (under READ COMMITTED each
    statement sees its own snapshot, so two reads could straddle an append). Keep the reads short: every
    writer waits. The session-level lock is released on the way out even when a read fails (the reads run in a
    savepoint), and it is re-entrant with an append lock this transaction already holds."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [APPEND_LOCK_KEY])
    try:
        with transaction.atomic():
            yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [APPEND_LOCK_KEY])


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
            payload, metadata = canonical.loads(row[6]), canonical.loads(row[7])  # Django's jsonb loader returns text
            yield RecordedEvent(*row[:6], payload, metadata, row[8], row[9], legs, row[10], row[11])


def iter_all(*, batch_size: int = 5000, after_position: int = 0) -> Iterator[list[RecordedEvent]]:
    """The whole log in position order, in batches, streamed from the database (call inside a transaction)."""
    from .log_scan import scan

    batch: list[RecordedEvent] = []
    for e in scan(after_position + 1, itersize=batch_size):
        batch.append(RecordedEvent(
            e.position, e.stream_type, e.stream_id, e.version, e.event_type, e.schema_version,
            canonical.loads(e.payload_json), canonical.loads(e.metadata_json),
            datetime.fromisoformat(e.recorded_at), datetime.fromisoformat(e.effective_at),
            tuple(Posting(p.account, p.asset, Decimal(p.amount)) for p in e.postings), e.prev_hash, e.hash,
        ))
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch
