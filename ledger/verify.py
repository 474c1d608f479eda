"""Recompute the hash chain and check every stored invariant, from the database alone."""
from __future__ import annotations

import multiprocessing
import multiprocessing.util
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, connections, transaction

from . import canonical, cycle_collector
from .log_scan import PostingWithoutEvent, ScannedEvent, scan
from .store import head_position

CHUNK_EVENTS = 50_000  # events per chunk when several processes verify: small enough to spread a log evenly


def usable_cores() -> int:
    """The default number of verify workers. A walk and its PostgreSQL backend take turns (the backend formats
    the next block of rows while the walk waits for it), so one walk keeps about one core busy (measured:
    docs/performance.md); one worker per core keeps them all busy."""
    return len(os.sched_getaffinity(0))


# sha256 of each guard function's source (pg_proc.prosrc) as the migrations install it: 0002 wrote
# ledger_refuse_change, 0007 the current ledger_postings_balanced.
REFUSE_CHANGE_SOURCE_SHA256 = "1194c73bf79a5d6e2c3d123f903d05aaceb7a148d43668f53629558ec072a501"
POSTINGS_BALANCED_SOURCE_SHA256 = "7b9a327e647ea7ce962b7a74a4e271a51a3db0e1aa7bd83afe912a783252e78c"

# Every guard trigger as migrations/0002_database_invariants.py installs it: its definition as
# pg_get_triggerdef prints it (the table's schema left out) and the source hash of the function it calls.
# Names alone are not enough: a superuser can recreate a trigger under its name or give its function a body
# that lets everything through. A migration that changes either must change this table; a test compares
# the two (tests/ledger/test_immutability.py).
GUARD_TRIGGERS = {
    ("ledger_event", "ledger_event_immutable"): (
        "CREATE TRIGGER ledger_event_immutable BEFORE DELETE OR UPDATE ON ledger_event"
        " FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()", REFUSE_CHANGE_SOURCE_SHA256),
    ("ledger_event", "ledger_event_no_truncate"): (
        "CREATE TRIGGER ledger_event_no_truncate BEFORE TRUNCATE ON ledger_event"
        " FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()", REFUSE_CHANGE_SOURCE_SHA256),
    ("ledger_posting", "ledger_posting_immutable"): (
        "CREATE TRIGGER ledger_posting_immutable BEFORE DELETE OR UPDATE ON ledger_posting"
        " FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()", REFUSE_CHANGE_SOURCE_SHA256),
    ("ledger_posting", "ledger_posting_no_truncate"): (
        "CREATE TRIGGER ledger_posting_no_truncate BEFORE TRUNCATE ON ledger_posting"
        " FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()", REFUSE_CHANGE_SOURCE_SHA256),
    ("ledger_posting", "ledger_posting_balanced"): (
        "CREATE TRIGGER ledger_posting_balanced AFTER INSERT ON ledger_posting REFERENCING NEW TABLE AS new_postings"
        " FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_balanced()", POSTINGS_BALANCED_SOURCE_SHA256),
    ("ledger_idempotency", "ledger_idempotency_immutable"): (
        "CREATE TRIGGER ledger_idempotency_immutable BEFORE DELETE OR UPDATE ON ledger_idempotency"
        " FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()", REFUSE_CHANGE_SOURCE_SHA256),
    ("ledger_idempotency", "ledger_idempotency_no_truncate"): (
        "CREATE TRIGGER ledger_idempotency_no_truncate BEFORE TRUNCATE ON ledger_idempotency"
        " FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()", REFUSE_CHANGE_SOURCE_SHA256),
}

# The enabled triggers of the guarded tables (the ones the application's search path finds), each with its
# definition and its function's source hash: what GUARD_TRIGGERS is compared with.
_INSTALLED_TRIGGERS = """
SELECT c.relname, t.tgname, replace(pg_get_triggerdef(t.oid), ' ON ' || quote_ident(n.nspname) || '.', ' ON '),
       encode(sha256(convert_to(p.prosrc, 'UTF8')), 'hex')
  FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_proc p ON p.oid = t.tgfoid
 WHERE NOT t.tgisinternal AND t.tgenabled IN ('O', 'A')
   AND t.tgrelid = ANY (ARRAY['ledger_event', 'ledger_posting', 'ledger_idempotency']::regclass[])
"""


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events_checked: int
    first_position: int | None
    last_position: int | None
    head_hash: str | None
    bad_position: int | None = None
    problem: str | None = None
    snapshots_checked: int | None = None  # None: not checked (a run that does not start at position 1)
    balances_checked: int | None = None  # None: not checked (a run that does not cover the whole log)

    def summary(self) -> str:
        if self.ok:
            if not self.events_checked:
                return "ledger OK: no events in range; immutability triggers installed"
            snapshots = ("" if self.snapshots_checked is None
                         else "; no balance snapshots yet" if self.snapshots_checked == 0
                         else f"; {self.snapshots_checked} balance snapshots match their postings")
            balances = ("" if self.balances_checked is None
                        else f"; {self.balances_checked} current balances match their postings")
            return (f"ledger OK: {self.events_checked} events verified, positions {self.first_position}.."
                    f"{self.last_position}, head hash {self.head_hash}; immutability triggers installed"
                    f"{snapshots}{balances}")
        where = f" at position {self.bad_position}" if self.bad_position is not None else ""
        return f"ledger BROKEN{where}: {self.problem}"


def installed_triggers() -> dict[tuple[str, str], tuple[str, str]]:
    """(table, trigger) -> (definition, function source sha256) of every enabled trigger on a guarded table."""
    with connection.cursor() as cursor:
        cursor.execute(_INSTALLED_TRIGGERS)
        return {(table, name): (definition, source) for table, name, definition, source in cursor.fetchall()}


def missing_triggers() -> list[str]:
    """Guard triggers that are missing, disabled, or differ from what the migrations install."""
    installed = installed_triggers()
    return sorted(f"{table}.{name}" for (table, name), shipped in GUARD_TRIGGERS.items()
                  if installed.get((table, name)) != shipped)


def verify(from_position: int = 1, to_position: int | None = None,
           progress: Callable[[int], None] | None = None, *, workers: int = 1,
           chunk_events: int | None = None) -> VerifyResult:
    """Walk the log in order: positions contiguous, prev_hash links, hash recomputed, postings balanced per
    asset and stamped with their event's times. Stops at the first bad position. A run from position 1 also
    checks every balance snapshot up to the last verified position against the postings, and a run over the
    whole log (no `to_position`) every current balance.

    With `workers` > 1 a range longer than `chunk_events` (default CHUNK_EVENTS) is cut into chunks walked by
    that many forked processes, each over its own connection, and the chunks are linked here in order; the
    result is the one a single walk gives. A caller inside a transaction gets one walk: the workers could not
    see what it has not committed."""
    missing = missing_triggers()
    if missing:
        return VerifyResult(False, 0, None, None, None, None, f"immutability triggers missing, disabled or altered: {', '.join(missing)}")
    from_position = max(from_position, 1)
    chunk_events = chunk_events or CHUNK_EVENTS
    in_callers_transaction = connection.in_atomic_block
    with transaction.atomic(), cycle_collector.paused():
        with connection.cursor() as cursor:
            cursor.execute("SELECT hash FROM ledger_event WHERE position = %s", [from_position - 1])
            row = cursor.fetchone()
        head = head_position()
        expected_prev = row[0] if row else (canonical.GENESIS_HASH if from_position == 1 else None)
        if expected_prev is None:
            return VerifyResult(False, 0, None, None, None, from_position - 1, "event before the range is missing")
        last_wanted = head if to_position is None else min(to_position, head)
        if workers > 1 and not in_callers_transaction and last_wanted - from_position + 1 > chunk_events:
            with closing(_walk_in_chunks(from_position, last_wanted, workers, chunk_events)) as walks:
                walked = _link(walks, from_position, expected_prev, progress)
        else:
            walked = _link([_walk(scan(from_position, last_wanted), progress)], from_position, expected_prev, None)
        if not walked.ok:
            return walked
        orphan = _posting_outside_the_log()
        if orphan is not None:
            return VerifyResult(False, walked.events_checked, walked.first_position, walked.last_position,
                                walked.head_hash, orphan, PostingWithoutEvent(orphan).message)
        if from_position > 1 or walked.last_position is None:
            return walked
        checked, first, last, head_hash = (walked.events_checked, walked.first_position, walked.last_position,
                                           walked.head_hash)
        snapshots, position, problem = _check_snapshots(last)
        if problem:
            return VerifyResult(False, checked, first, last, head_hash, position, problem)
        if to_position is not None:
            return VerifyResult(True, checked, first, last, head_hash, snapshots_checked=snapshots)
        balances, problem = _check_balances()
        if problem:
            return VerifyResult(False, checked, first, last, head_hash, None, problem, snapshots)
        return VerifyResult(True, checked, first, last, head_hash, snapshots_checked=snapshots, balances_checked=balances)


@dataclass(frozen=True)
class _Walk:
    """One walk over consecutive events, checked against each other but not yet against what came before
    them: its first event's position and prev_hash are what the walk before it must link to."""
    checked: int
    first_position: int | None
    first_prev_hash: str | None
    last_position: int | None
    head_hash: str | None
    bad_position: int | None = None
    problem: str | None = None


def _walk(events: Iterable[ScannedEvent], progress: Callable[[int], None] | None = None) -> _Walk:
    checked = 0
    first = None
    expected_position = expected_prev = None
    try:
        for event in events:
            if first is None:
                first = event
                expected_position, expected_prev = event.position, event.prev_hash
            problem = _check(event, expected_position, expected_prev)
            if problem:
                return _Walk(checked, first.position, first.prev_hash, expected_position - 1 if checked else None,
                             expected_prev if checked else None, event.position, problem)
            expected_prev = event.hash
            expected_position += 1
            checked += 1
            if progress and checked % 10000 == 0:
                progress(10000)
    except PostingWithoutEvent as orphan:  # raised between events: every event before it was checked
        if first is None:
            return _Walk(0, None, None, None, None, orphan.position, orphan.message)
        return _Walk(checked, first.position, first.prev_hash, expected_position - 1, expected_prev,
                     orphan.position, orphan.message)
    if first is None:
        return _Walk(0, None, None, None, None)
    return _Walk(checked, first.position, first.prev_hash, expected_position - 1, expected_prev)


def _link(walks: Iterable[_Walk], expected_position: int, expected_prev: str,
          progress: Callable[[int], None] | None) -> VerifyResult:
    """Chain walks that follow each other, starting from the event before the range, into one result."""
    checked = 0
    first = last = head_hash = None
    for walk in walks:
        if walk.first_position is not None:
            problem = _link_problem(walk.first_position, walk.first_prev_hash, expected_position, expected_prev)
            if problem:
                return VerifyResult(False, checked, first, last, head_hash, walk.first_position, problem)
        if walk.checked:
            first = first or walk.first_position
            checked += walk.checked
            last, head_hash = walk.last_position, walk.head_hash
        if walk.problem:  # an empty walk may have one too: a posting whose event is missing
            return VerifyResult(False, checked, first, last, head_hash, walk.bad_position, walk.problem)
        if walk.first_position is None:
            continue  # an empty chunk: the next one's first event must link to what came before it
        expected_position, expected_prev = walk.last_position + 1, walk.head_hash
        if progress:
            progress(walk.checked)
    return VerifyResult(True, checked, first, last, head_hash)


def _walk_in_chunks(first: int, last: int, workers: int, chunk_events: int) -> Iterator[_Walk]:
    """Walks of consecutive chunks of [first, last], in order, by a pool of forked processes. Chunks not yet
    started are cancelled when the caller stops reading (the first bad chunk). A worker that dies (killed, out
    of memory) raises BrokenProcessPool here instead of leaving the caller waiting for its chunk. Forked, not
    spawned: a worker starts with Django set up and the caller's database settings (a test database's too)."""
    chunks = [(start, min(start + chunk_events - 1, last)) for start in range(first, last + 1, chunk_events)]
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=_own_connections)
    try:
        yield from pool.map(_walk_chunk, chunks)
    finally:
        pool.shutdown(cancel_futures=True)


def _own_connections() -> None:
    """First thing in each forked worker. The connection objects it inherited share their sockets with the
    parent, which goes on using them: replace them unclosed, so the worker opens a session of its own, and
    close that session when the worker exits."""
    for alias in connections:
        connections[alias] = connections.create_connection(alias)
    multiprocessing.util.Finalize(None, connections.close_all, exitpriority=0)


def _walk_chunk(chunk: tuple[int, int]) -> _Walk:
    with transaction.atomic():
        return _walk(scan(*chunk))


# Positions are dense from 1 to the head (the walk reports a gap), so a posting outside every event is one
# below 1 or above the last event: two probes of the postings' (event_position, seq) index, in one statement
# and so one snapshot, where no append can separate an event from its postings (they commit together).
_POSTING_OUTSIDE_THE_LOG = """
SELECT coalesce((SELECT min(event_position) FROM ledger_posting WHERE event_position < 1),
                (SELECT min(event_position) FROM ledger_posting
                  WHERE event_position > (SELECT coalesce(max(position), 0) FROM ledger_event)))
"""


def _posting_outside_the_log() -> int | None:
    """The position of the first posting below position 1 or past the last event, or None."""
    with connection.cursor() as cursor:
        cursor.execute(_POSTING_OUTSIDE_THE_LOG)
        return cursor.fetchone()[0]


# Snapshots are derived data, but point-in-time reads start from them (ledger/balances.py): a wrong one would
# make "what did we know at T" wrong while the chain verifies. Each snapshot must equal the account's previous
# snapshot plus the postings between the two, so one pass reads each posting up to the last snapshot once.
# One statement returns how many were checked and the first wrong one (its columns NULL when none is).
_CHECK_SNAPSHOTS = """
WITH checked AS (
    SELECT s.position, s.account, s.asset, s.balance,
           s.prev_balance + coalesce((SELECT sum(p.amount) FROM ledger_posting p
                                       WHERE p.account = s.account AND p.asset = s.asset
                                         AND p.event_position > s.prev_position
                                         AND p.event_position <= s.position), 0) AS expected
      FROM (SELECT account, asset, position, balance,
                   lag(position, 1, 0::bigint) OVER w AS prev_position,
                   lag(balance, 1, 0::numeric) OVER w AS prev_balance
              FROM ledger_balance_snapshot WHERE position <= %s
            WINDOW w AS (PARTITION BY account, asset ORDER BY position)) s
)
SELECT (SELECT count(*) FROM checked), wrong.*
  FROM (SELECT 1) one
  LEFT JOIN LATERAL (SELECT c.position, c.account, c.asset, c.balance, c.expected FROM checked c
                      WHERE c.balance <> c.expected
                      ORDER BY c.position, c.account, c.asset LIMIT 1) wrong ON true
"""


def _check_snapshots(through: int) -> tuple[int, int | None, str | None]:
    """(snapshots checked, then the position of the first wrong one and what is wrong with it, or None)."""
    with connection.cursor() as cursor:
        cursor.execute(_CHECK_SNAPSHOTS, [through])
        checked, position, account, asset, stored, expected = cursor.fetchone()
    if position is None:
        return checked, None, None
    return checked, position, (f"balance snapshot of {account} in {asset} says {canonical.decimal_str(stored)},"
                               f" its postings sum to {canonical.decimal_str(expected)}")


# The partner API, the console and the corporate-action runs read current balances from this projection,
# which is derived data any connection allowed to write could edit: a wrong balance would show a figure the
# postings never said (reconciliation sums the postings itself). Every balance must equal the sum of its
# account's postings, and every account with postings must have one. One statement is one snapshot, and
# appends move the projection in the same transaction as the postings, so none can fall between the two.
_CHECK_BALANCES = """
WITH compared AS (
    SELECT coalesce(s.account, b.account) AS account, coalesce(s.asset, b.asset) AS asset,
           b.balance AS stored, s.total AS expected
      FROM (SELECT account, asset, sum(amount) AS total FROM ledger_posting GROUP BY account, asset) s
      FULL JOIN ledger_account_balance b ON b.account = s.account AND b.asset = s.asset
)
SELECT (SELECT count(*) FROM compared), wrong.*
  FROM (SELECT 1) one
  LEFT JOIN LATERAL (SELECT c.account, c.asset, c.stored, c.expected FROM compared c
                      WHERE c.stored IS DISTINCT FROM c.expected
                      ORDER BY c.account, c.asset LIMIT 1) wrong ON true
"""


def _check_balances() -> tuple[int, str | None]:
    """(current balances checked, what is wrong with the first wrong one or None)."""
    with connection.cursor() as cursor:
        cursor.execute(_CHECK_BALANCES)
        checked, account, asset, stored, expected = cursor.fetchone()
    if account is None:
        return checked, None
    if stored is None:
        return checked, f"no current balance for {account} in {asset}, whose postings sum to {canonical.decimal_str(expected)}"
    if expected is None:
        return checked, f"current balance of {account} in {asset} says {canonical.decimal_str(stored)}, but it has no postings"
    return checked, (f"current balance of {account} in {asset} says {canonical.decimal_str(stored)},"
                     f" its postings sum to {canonical.decimal_str(expected)}")


def _link_problem(position: int, prev_hash: str, expected_position: int, expected_prev: str) -> str | None:
    if position != expected_position:
        return f"gap in positions: expected {expected_position}, found {position}"
    if prev_hash != expected_prev:
        return f"prev_hash {prev_hash} does not link to the previous event's hash {expected_prev}"
    return None


def _check(event: ScannedEvent, expected_position: int, expected_prev: str) -> str | None:
    problem = _link_problem(event.position, event.prev_hash, expected_position, expected_prev)
    if problem:
        return problem
    recomputed = canonical.event_hash_from_parts(
        position=event.position, stream_type=event.stream_type, stream_id=event.stream_id, version=event.version,
        event_type=event.event_type, schema_version=event.schema_version,
        payload_json=canonical.dumps(canonical.loads(event.payload_json)),
        metadata_json=canonical.dumps(canonical.loads(event.metadata_json)),
        recorded_at=event.recorded_at, effective_at=event.effective_at,
        postings_json=canonical.postings_json([(p.account, p.asset, p.amount) for p in event.postings]),
        prev_hash=event.prev_hash,
    )
    if recomputed != event.hash:
        return f"hash mismatch: stored {event.hash}, recomputed {recomputed} (event content was altered)"
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for leg in event.postings:
        totals[leg.asset] = canonical.EXACT.add(totals[leg.asset], Decimal(leg.amount))
        if leg.effective_at != event.effective_at or leg.recorded_at != event.recorded_at:
            return f"posting to {leg.account} carries times that differ from its event"
    for asset, total in totals.items():
        if total != 0:
            return f"postings do not balance in {asset}: sum {canonical.decimal_str(total)}"
    return None
